"""CloudWatch Logs entities: frozen values, with storage kept in :mod:`.store`. Times are epoch ms."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LogGroup:
    """A log group."""

    name: str
    arn: str
    created_at: int
    stored_bytes: int = 0


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


@dataclass(frozen=True)
class FoundEvent:
    """A FilterLogEvents match: an event with the stream it is in."""

    stream: str
    stream_id: int
    event: LogEvent

    @property
    def event_id(self) -> str:
        """A unique, stable id (56 digits, as AWS's look)."""
        return f"{self.stream_id:020d}{self.event.seq:036d}"


@dataclass(frozen=True)
class FoundPage:
    """A FilterLogEvents answer: matches by time, and the token to continue (None when done)."""

    events: list[FoundEvent]
    next_token: str | None
