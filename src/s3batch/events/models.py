"""Event bus entities: rules with their targets (frozen)."""

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

    @property
    def enabled(self) -> bool:
        """Whether matching events are delivered."""
        return self.state == "ENABLED"


@dataclass(frozen=True)
class Delivery:
    """What one target did with one event."""

    event_id: str
    rule: str
    target_id: str
    status: str
    detail: str
    at: str
