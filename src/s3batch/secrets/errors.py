"""Secrets Manager errors, each carrying the AWS error code it is reported as.

Messages name secrets by id at most; a secret's value never appears in one.
"""

from __future__ import annotations

from s3batch.errors import Conflict, InvalidRequest, NotFound


class ResourceNotFoundException(NotFound):
    """Secrets Manager can't find the specified secret."""

    code = "ResourceNotFoundException"


class InvalidParameterException(InvalidRequest):
    """The parameter name or value is invalid."""

    code = "InvalidParameterException"


class ResourceExistsException(Conflict):
    """A resource with the ID you requested already exists."""

    code = "ResourceExistsException"
