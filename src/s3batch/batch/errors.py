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


#: statusReason of an attempt whose container could not start (ECS's stoppedReason).
FAILED_TO_START = "Task failed to start"


class CannotStart(S3BatchError):
    """The job's command could not be started."""

    code = "CannotStartContainerError"

    @property
    def status_reason(self) -> str:
        """The attempt's statusReason; the message is its container's reason."""
        return FAILED_TO_START


class ResourceInitializationError(CannotStart):
    """The job's secrets could not be fetched, so its container was never created."""

    code = "ResourceInitializationError"

    @property
    def status_reason(self) -> str:
        """The message itself, as AWS Fargate stops such a task with it."""
        return self.message
