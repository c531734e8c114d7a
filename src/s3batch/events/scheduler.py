"""The schedule loop: fire scheduled rules (PutRule with a ScheduleExpression).

At each time a rule's schedule selects, a "Scheduled Event" from ``aws.events`` naming the
rule in ``resources`` goes to the bus outbox addressed to that rule alone (as on AWS, other
rules do not see it); the dispatcher delivers it to the rule's targets like any event.
A rate schedule starts when it is first seen (its first firing one period later). Firings
missed while s3batch was stopped, or the rule disabled, are skipped, not made up.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from datetime import datetime

from s3batch.clock import Clock
from s3batch.events import store
from s3batch.events.models import Rule
from s3batch.events.schedule import parse_schedule
from s3batch.events.store import BUS_TOPIC, stamp
from s3batch.state import outbox
from s3batch.state.db import Database
from s3batch.types import Json

logger = logging.getLogger(__name__)

#: ``source`` and ``detail-type`` of the events schedules emit.
SOURCE, DETAIL_TYPE = "aws.events", "Scheduled Event"


class Scheduler:
    """Puts the Scheduled Events of due schedules on the default bus."""

    def __init__(self, db: Database, clock: Clock, region: str, account_id: str) -> None:
        self.db = db
        self.clock = clock
        self.region = region
        self.account_id = account_id

    def tick(self) -> int:
        """Fire every schedule that is due; return how many events were put.

        Reading which schedules are due needs no write transaction, so an idle tick takes no
        write lock.
        """
        now = self.clock.now()
        due = [r for r in store.scheduled_rules(self.db.conn) if _due(self.db.conn, r, now)]
        if not due:
            return 0
        with self.db.transaction() as conn:
            return sum(self._advance(conn, rule.bus, rule.name, now) for rule in due)

    def _advance(self, conn: sqlite3.Connection, bus: str, name: str, now: datetime) -> int:
        """Fire the rule if due (and enabled) and record its next firing; 1 if it fired."""
        rule = store.get_rule(conn, bus, name)  # as it is now, inside the transaction
        if rule is None or rule.schedule is None:
            return 0
        expression = parse_schedule(rule.schedule)
        stored = _stored(conn, rule)
        if stored is None:  # new, or a new expression: it starts now
            _record(conn, rule, rule.schedule, expression.next_after(now))
            return 0
        (due,) = stored
        if due is None or due > now:
            return 0
        following = expression.next_after(due)
        while following is not None and following <= now:  # skip what was missed
            following = expression.next_after(following)
        _record(conn, rule, rule.schedule, following)
        if not rule.enabled:
            return 0
        event = self.scheduled_event(rule, due)
        outbox.append(conn, BUS_TOPIC, {"bus": rule.bus, "event": event, "rule": rule.name}, now)
        logger.info("schedule of rule %s fired", rule.name, extra={"action": "schedule"})
        return 1

    def scheduled_event(self, rule: Rule, at: datetime) -> Json:
        """The event a schedule emits at ``at``."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": DETAIL_TYPE,
            "source": SOURCE,
            "account": self.account_id,
            "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [rule.arn],
            "detail": {},
        }


def _stored(conn: sqlite3.Connection, rule: Rule) -> tuple[datetime | None] | None:
    """``(next firing,)`` as recorded for the rule's current expression; None if there is none."""
    known = store.schedule(conn, rule.bus, rule.name)
    if known is None or known[0] != rule.schedule:
        return None
    return (datetime.fromisoformat(known[1]) if known[1] else None,)


def _due(conn: sqlite3.Connection, rule: Rule, now: datetime) -> bool:
    """Whether the rule's schedule is new, changed, or has a firing at or before ``now``."""
    stored = _stored(conn, rule)
    return stored is None or (stored[0] is not None and stored[0] <= now)


def _record(conn: sqlite3.Connection, rule: Rule, text: str, at: datetime | None) -> None:
    store.set_schedule(conn, rule.bus, rule.name, text, stamp(at) if at else None)
