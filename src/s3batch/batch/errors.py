"""Batch errors. AWS Batch models only two: ``ClientException`` (400) and ``ServerException`` (500)."""

from __future__ import annotations

from s3batch.errors import Conflict, InvalidRequest, S3BatchError


class ClientException(InvalidRequest):
    """These errors are usually caused by a client action."""

    code = "ClientException"


class ServerException(S3BatchError):
    """These errors are usually caused by a server issue."""

    code = "ServerException"


class JobNotFound(ClientException):
    """The job does not exist."""


class IllegalTransition(ServerException):
    """The status machine does not allow this move."""


class TransitionConflict(Conflict):
    """The job was not in the expected status: another writer moved it first."""

    code = "ClientException"


class CannotStart(S3BatchError):
    """The job's command could not be started."""

    code = "CannotStartContainerError"
