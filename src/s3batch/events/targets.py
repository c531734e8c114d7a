"""The uniform target interface: ``deliver(event, target, payload, delivery_id)``.

A target kind (Batch job queue, ...) is chosen by the service named in the target's ARN;
a bare name (``update-RDS-data-from-S3``) means a job queue, as in s3batch's stacks, and
an ``http://`` or ``https://`` URL means an HTTP endpoint (s3batch's stand-in for an API
destination). Targets must be idempotent on ``delivery_id``: delivery is at least once.

A target raises :class:`RetriableTargetError` for a transient failure (the bus retries it
under the target's RetryPolicy); any other S3BatchError is final (it goes to the
dead-letter queue at once, when the target has one).
"""

from __future__ import annotations

from typing import Protocol

from s3batch.errors import S3BatchError
from s3batch.types import Json

#: Target kinds the runtime registers (PutTargets refuses others).
KINDS = frozenset({"batch", "logs", "http"})


class Target(Protocol):
    """Something a rule can send events to."""

    def deliver(self, event: Json, target: Json, payload: Json, delivery_id: str) -> str:
        """Act on one event; return what was done (e.g. the job id). Raises S3BatchError."""
        ...


class UnknownTargetKind(S3BatchError):
    """No target kind serves this ARN."""

    code = "UnsupportedTarget"


class RetriableTargetError(S3BatchError):
    """The target failed for a reason that may pass (throttled, timed out, unavailable)."""

    code = "THROTTLING"

    def __init__(self, message: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


def kind_of(arn: str) -> str:
    """The service a target ARN belongs to (``batch`` for a bare job queue name)."""
    if arn.startswith(("http://", "https://")):
        return "http"
    if not arn.startswith("arn:"):
        return "batch"
    parts = arn.split(":", 5)
    return parts[2] if len(parts) > 2 else ""
