"""The bus loop: claim events from the outbox, match rules in one pass, deliver to targets.

Delivery is at least once: an event is acknowledged only after every matched target has
been delivered (or has failed for good), in the same transaction that records what each
target did. A crash before that redelivers the event; targets are idempotent on the
delivery id ``<event id>/<rule>/<target id>``, so a Batch job is still submitted once.
The matcher is compiled when rules change, not per event.
"""

from __future__ import annotations

import logging
from datetime import datetime

from s3batch.clock import Clock
from s3batch.errors import S3BatchError
from s3batch.events import store
from s3batch.events.matcher import Matcher
from s3batch.events.models import Delivery, Rule
from s3batch.events.patterns import parse
from s3batch.events.targets import Target, UnknownTargetKind, kind_of
from s3batch.events.transform import apply_target_input
from s3batch.state import outbox
from s3batch.state.db import Database
from s3batch.types import Json

logger = logging.getLogger(__name__)

#: Outbox topic of events put on a bus.
BUS_TOPIC = "events.bus"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Dispatcher:
    """Moves events from the bus outbox to the targets of the rules they match."""

    def __init__(self, db: Database, clock: Clock, targets: dict[str, Target]) -> None:
        self.db = db
        self.clock = clock
        self.targets = targets
        self._version = -1
        self._matcher = Matcher()
        self._rules: dict[str, Rule] = {}

    def _refresh(self) -> None:
        version = store.rules_version(self.db.conn)
        if version == self._version:
            return
        matcher, rules = Matcher(), {}
        for rule in store.rules(self.db.conn):
            if rule.enabled:
                key = f"{rule.bus}/{rule.name}"
                matcher.add(key, parse(rule.pattern))
                rules[key] = rule
        self._matcher, self._rules, self._version = matcher, rules, version

    def tick(self, limit: int = 50) -> int:
        """Deliver up to ``limit`` pending events; return how many were handled."""
        with self.db.transaction() as conn:
            claimed = outbox.claim(conn, BUS_TOPIC, limit, self.clock.now())
        if not claimed:
            return 0
        self._refresh()
        for n, item in enumerate(claimed):
            try:
                self._dispatch(item.id, item.payload["bus"], item.payload["event"], item.created_at)
            except Exception:
                # Not delivered (e.g. the state store failed): hand this and the rest back
                # for the next tick instead of leaving them claimed until the lease ends.
                with self.db.transaction() as conn:
                    outbox.release(conn, [c.id for c in claimed[n:]])
                raise
        return len(claimed)

    def _dispatch(self, outbox_id: int, bus: str, event: Json, ingested: str) -> None:
        keys = sorted(k for k in self._matcher.matches(event) if self._rules[k].bus == bus)
        outcomes = [self._deliver(event, self._rules[k], t, ingested) for k in keys for t in self._rules[k].targets]
        now = self.clock.now()
        with self.db.transaction() as conn:
            store.record_event(conn, bus, event, [self._rules[k].name for k in keys], _iso(now))
            for delivery in outcomes:
                store.record_delivery(conn, delivery)
            outbox.ack(conn, [outbox_id], now)

    def _deliver(self, event: Json, rule: Rule, target: Json, ingested: str) -> Delivery:
        delivery_id = f"{event['id']}/{rule.name}/{target['Id']}"
        try:
            handler = self.targets.get(kind_of(target["Arn"]))
            if handler is None:
                raise UnknownTargetKind(f"s3batch cannot deliver to {target['Arn']} (kind {kind_of(target['Arn'])!r})")
            payload = apply_target_input(event, target, rule.name, rule.arn, ingested)
            detail, status = handler.deliver(event, target, payload, delivery_id), "DELIVERED"
        except S3BatchError as exc:
            detail, status = f"{exc.code}: {exc.message}", "FAILED"
            logger.warning("rule %s target %s: %s", rule.name, target["Id"], detail, extra={"action": "deliver"})
        except Exception as exc:  # a failing target must not stop the bus
            detail, status = f"InternalError: {exc}", "FAILED"
            logger.exception("rule %s target %s failed", rule.name, target["Id"], extra={"action": "deliver"})
        return Delivery(event["id"], rule.name, target["Id"], status, detail, _iso(self.clock.now()))
