"""The CloudWatch Logs log group as an event target: each delivered event becomes one log event.

The target ARN is ``arn:aws:logs:REGION:ACCOUNT:log-group:NAME`` (a trailing ``:*`` is
allowed, as the console writes it). As on AWS, each event gets its own stream, named by
the event id, and the message is the delivered payload as JSON, stamped with the event's time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from s3batch.errors import S3BatchError
from s3batch.types import Json


class LogSink(Protocol):
    """Where log events go (``s3batch.logs.service.Logs`` satisfies it)."""

    def append(self, group: str, stream: str, events: Sequence[tuple[int, str]]) -> None:
        """Add ``(timestamp ms, message)`` events, creating group and stream if needed."""
        ...


class BadLogGroupArn(S3BatchError):
    """The target ARN does not name a log group."""

    code = "NO_RESOURCE"


def group_of(arn: str) -> str:
    """The log group a target ARN names. Raises BadLogGroupArn."""
    _, _, rest = arn.partition(":log-group:")
    name = rest[:-2] if rest.endswith(":*") else rest
    if not name:
        raise BadLogGroupArn(
            f"{arn} is not a log group ARN (arn:aws:logs:REGION:ACCOUNT:log-group:NAME)."
        )
    return name


def _millis(event: Json) -> int:
    try:
        return int(
            datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00")).timestamp() * 1000
        )
    except (KeyError, ValueError):
        return 0


class LogGroupTarget:
    """Writes each delivered event's payload to a log group."""

    def __init__(self, sink: LogSink) -> None:
        self.sink = sink

    def deliver(self, event: Json, target: Json, payload: Json, delivery_id: str) -> str:
        """Append the payload as one log event; return where it went."""
        group, stream = group_of(target["Arn"]), str(event.get("id") or delivery_id)
        message = (
            payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
        )
        self.sink.append(group, stream, [(_millis(event), message)])
        return f"log event in {group}/{stream}"
