"""CloudWatch Logs errors, each carrying the code the Logs API reports."""

from __future__ import annotations

from s3batch.errors import Conflict, InvalidRequest, NotFound


class ResourceNotFoundException(NotFound):
    """The specified resource does not exist."""

    code = "ResourceNotFoundException"


class LogGroupNotFound(ResourceNotFoundException):
    """The specified log group does not exist."""


class LogStreamNotFound(ResourceNotFoundException):
    """The specified log stream does not exist."""


class ResourceAlreadyExistsException(Conflict):
    """The specified resource already exists."""

    code = "ResourceAlreadyExistsException"


class InvalidParameterException(InvalidRequest):
    """A parameter is specified incorrectly."""

    code = "InvalidParameterException"
