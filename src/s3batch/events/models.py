"""Event bus entities: rules with their targets, buses, retries, dead letters (frozen)."""

from __future__ import annotations

from dataclasses import dataclass

from s3batch.types import Json


@dataclass(frozen=True)
class Rule:
    """A rule on a bus: an event pattern and the targets that matching events go to."""

    bus: str
    name: str
    arn: str
    pattern: str
    state: str = "ENABLED"
    description: str | None = None
    targets: tuple[Json, ...] = ()
    #: The ScheduleExpression of a scheduled rule (``pattern`` is "" when it has only that).
    schedule: str | None = None

    @property
    def enabled(self) -> bool:
        """Whether matching events are delivered."""
        return self.state == "ENABLED"

    @property
    def matches_events(self) -> bool:
        """Whether the rule has an event pattern (a scheduled rule may have none)."""
        return bool(self.pattern)


@dataclass(frozen=True)
class Delivery:
    """What one target did with one event."""

    event_id: str
    rule: str
    target_id: str
    status: str
    detail: str
    at: str


@dataclass(frozen=True)
class Bus:
    """A custom event bus (the default bus always exists and is not stored)."""

    name: str
    arn: str
    description: str | None
    created_at: str


@dataclass(frozen=True)
class Retry:
    """A delivery waiting for its next attempt."""

    id: int
    bus: str
    rule: str
    target_id: str
    event: Json
    ingested_at: str
    attempts: int
    due_at: str
    last_error: str | None


@dataclass(frozen=True)
class DeadLetter:
    """An event a target could not take, with why (the attributes AWS puts on DLQ messages)."""

    id: str
    bus: str
    rule: str
    rule_arn: str
    target_id: str
    target_arn: str
    dlq_arn: str
    event: Json
    ingested_at: str
    error_code: str
    error_message: str
    exhausted: str | None
    attempts: int
    created_at: str
    replayed_at: str | None = None
