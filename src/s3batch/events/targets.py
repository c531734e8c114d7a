"""The uniform target interface: ``deliver(event, target, payload, delivery_id)``.

A target kind (Batch job queue, ...) is chosen by the service named in the target's ARN;
a bare name (``update-RDS-data-from-S3``) means a job queue, as in s3batch's stacks.
Targets must be idempotent on ``delivery_id``: delivery is at least once.
"""

from __future__ import annotations

from typing import Protocol

from s3batch.errors import S3BatchError
from s3batch.types import Json


class Target(Protocol):
    """Something a rule can send events to."""

    def deliver(self, event: Json, target: Json, payload: Json, delivery_id: str) -> str:
        """Act on one event; return what was done (e.g. the job id). Raises S3BatchError."""
        ...


class UnknownTargetKind(S3BatchError):
    """No target kind serves this ARN."""

    code = "UnsupportedTarget"


def kind_of(arn: str) -> str:
    """The service a target ARN belongs to (``batch`` for a bare job queue name)."""
    if not arn.startswith("arn:"):
        return "batch"
    parts = arn.split(":", 5)
    return parts[2] if len(parts) > 2 else ""
