"""CloudWatch Logs entities: frozen values, with storage kept in :mod:`.store`. Times are epoch ms."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LogGroup:
    """A log group."""

    name: str
    arn: str
    created_at: int


@dataclass(frozen=True)
class LogStream:
    """A stream of events in a group, with the summary DescribeLogStreams reports."""

    group: str
    name: str
    arn: str
    created_at: int
    first_event_timestamp: int | None = None
    last_event_timestamp: int | None = None
    last_ingestion_time: int | None = None
    stored_bytes: int = 0


@dataclass(frozen=True)
class LogEvent:
    """One event; ``seq`` is its position in the stream (insertion order)."""

    seq: int
    timestamp: int
    message: str
    ingestion_time: int


@dataclass(frozen=True)
class EventPage:
    """A GetLogEvents answer: events oldest first, and the tokens to page on."""

    events: list[LogEvent]
    next_forward_token: str
    next_backward_token: str
