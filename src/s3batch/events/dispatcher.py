"""The bus loop: claim events from the outbox, match rules in one pass, deliver to targets.

Delivery is at least once: an event is acknowledged only after every matched target has
been delivered (or has failed for good), in the same transaction that records what each
target did. A crash before that redelivers the event; targets are idempotent on the
delivery id ``<event id>/<rule>/<target id>``, so a Batch job is still submitted once.
The matcher is compiled when rules change, not per event.

A retriable failure (:class:`RetriableTargetError`) schedules the next attempt in
``event_retries`` with exponential backoff, within the target's RetryPolicy; a final
failure, or retries exhausted, keeps the event as a dead letter when the target has a
DeadLetterConfig, and drops it otherwise. Either way the outcome is in ``deliveries``.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from s3batch.clock import Clock
from s3batch.errors import S3BatchError
from s3batch.events import store
from s3batch.events.errors import ValidationException
from s3batch.events.matcher import Matcher
from s3batch.events.models import DeadLetter, Delivery, Retry, Rule
from s3batch.events.patterns import parse
from s3batch.events.retry import BY_AGE, RetryPolicy, backoff
from s3batch.events.store import stamp
from s3batch.events.targets import RetriableTargetError, Target, UnknownTargetKind, kind_of
from s3batch.events.transform import apply_target_input
from s3batch.state import outbox
from s3batch.state.db import Database
from s3batch.types import Json

logger = logging.getLogger(__name__)

#: Outbox topic of events put on a bus.
BUS_TOPIC = store.BUS_TOPIC


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Dispatcher:
    """Moves events from the bus outbox to the targets of the rules they match."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        targets: dict[str, Target],
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.targets = targets
        #: Source of backoff jitter (seeded in tests).
        self.rng = rng or random.Random()
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
                if rule.matches_events:
                    matcher.add(key, parse(rule.pattern))
                rules[key] = rule
        self._matcher, self._rules, self._version = matcher, rules, version

    def tick(self, limit: int = 50) -> int:
        """Make due retries, then deliver up to ``limit`` pending events; return how many were handled."""
        retried = self._retry_due(limit)
        with self.db.transaction() as conn:
            claimed = outbox.claim(conn, BUS_TOPIC, limit, self.clock.now())
        if not claimed:
            return retried
        self._refresh()
        for n, item in enumerate(claimed):
            try:
                self._dispatch(item.id, item.payload, item.created_at)
            except Exception:
                # Not delivered (e.g. the state store failed): hand this and the rest back
                # for the next tick instead of leaving them claimed until the lease ends.
                with self.db.transaction() as conn:
                    outbox.release(conn, [c.id for c in claimed[n:]])
                raise
        return retried + len(claimed)

    def _dispatch(self, outbox_id: int, payload: Json, ingested: str) -> None:
        """Deliver one bus event: to the rules it matches, or to the one rule it is addressed to
        (a schedule's event)."""
        bus, event, addressee = payload["bus"], payload["event"], payload.get("rule")
        if addressee is not None:
            keys = [k for k in (f"{bus}/{addressee}",) if k in self._rules]
        else:
            keys = sorted(k for k in self._matcher.matches(event) if self._rules[k].bus == bus)
        outcomes = [
            self._attempt(bus, event, self._rules[k], t, ingested, 0)
            for k in keys
            for t in self._rules[k].targets
        ]
        now = self.clock.now()
        with self.db.transaction() as conn:
            store.record_event(conn, bus, event, [self._rules[k].name for k in keys], _iso(now))
            for outcome in outcomes:
                outcome.record(conn)
            outbox.ack(conn, [outbox_id], now)

    def _retry_due(self, limit: int) -> int:
        """Make the delivery attempts that are due; return how many were made."""
        due = store.due_retries(self.db.conn, stamp(self.clock.now()), limit)
        for retry in due:
            rule = store.get_rule(self.db.conn, retry.bus, retry.rule)
            target = (
                next((t for t in rule.targets if t["Id"] == retry.target_id), None)
                if rule
                else None
            )
            if rule is None or target is None:
                outcome = _Outcome(
                    self._delivery(
                        retry.event,
                        retry.rule,
                        retry.target_id,
                        "FAILED",
                        "ResourceNotFoundException: the rule or target no longer exists",
                    )
                )
            else:
                outcome = self._expired(retry, rule, target) or self._attempt(
                    retry.bus, retry.event, rule, target, retry.ingested_at, retry.attempts
                )
            with self.db.transaction() as conn:
                store.delete_retry(conn, retry.id)
                outcome.record(conn)
        return len(due)

    def _expired(self, retry: Retry, rule: Rule, target: Json) -> _Outcome | None:
        """A due retry of an event already older than MaximumEventAgeInSeconds is not made.

        It happens when the bus was stopped (or busy) past the retry's due time: the event
        goes to the dead-letter queue, or is dropped, with the last failure as the reason.
        """
        age = (self.clock.now() - datetime.fromisoformat(retry.ingested_at)).total_seconds()
        if age < _policy(target).max_age:
            return None
        code, _, message = (retry.last_error or "").partition(": ")
        logger.warning(
            "rule %s target %s: event %s is %.0f s old, past MaximumEventAgeInSeconds; not retried",
            rule.name,
            target["Id"],
            retry.event["id"],
            age,
            extra={"action": "deliver"},
        )
        return self._give_up(
            retry.bus,
            retry.event,
            rule,
            target,
            retry.ingested_at,
            retry.attempts,
            code or "InternalError",
            message,
            BY_AGE,
        )

    def _attempt(
        self, bus: str, event: Json, rule: Rule, target: Json, ingested: str, retries_made: int
    ) -> _Outcome:
        """Deliver once; on failure, schedule a retry or dead-letter the event as the target's policies say."""
        delivery_id = f"{event['id']}/{rule.name}/{target['Id']}"
        try:
            handler = self.targets.get(kind_of(target["Arn"]))
            if handler is None:
                raise UnknownTargetKind(
                    f"s3batch cannot deliver to {target['Arn']} (kind {kind_of(target['Arn'])!r})"
                )
            payload = apply_target_input(event, target, rule.name, rule.arn, ingested)
            detail = handler.deliver(event, target, payload, delivery_id)
            return _Outcome(self._delivery(event, rule.name, target["Id"], "DELIVERED", detail))
        except RetriableTargetError as exc:
            return self._failed(
                bus, event, rule, target, ingested, retries_made, exc, retriable=True
            )
        except S3BatchError as exc:
            return self._failed(
                bus, event, rule, target, ingested, retries_made, exc, retriable=False
            )
        except Exception as exc:  # a failing target must not stop the bus
            logger.exception(
                "rule %s target %s failed", rule.name, target["Id"], extra={"action": "deliver"}
            )
            failure = S3BatchError(str(exc))
            return self._failed(
                bus, event, rule, target, ingested, retries_made, failure, retriable=False
            )

    def _failed(
        self,
        bus: str,
        event: Json,
        rule: Rule,
        target: Json,
        ingested: str,
        retries_made: int,
        exc: S3BatchError,
        *,
        retriable: bool,
    ) -> _Outcome:
        now, error = self.clock.now(), f"{exc.code}: {exc.message}"
        logger.warning(
            "rule %s target %s: %s", rule.name, target["Id"], error, extra={"action": "deliver"}
        )
        exhausted = None
        if retriable:
            due = now + timedelta(seconds=backoff(retries_made + 1, self.rng))
            # The age the event would have at the retry: none is made past the maximum age.
            age = (due - datetime.fromisoformat(ingested)).total_seconds()
            exhausted = _policy(target).exhausted(retries_made, age)
            if exhausted is None:
                retry = Retry(
                    0,
                    bus,
                    rule.name,
                    target["Id"],
                    event,
                    ingested,
                    retries_made + 1,
                    stamp(due),
                    error,
                )
                detail = f"{error} (retry {retries_made + 1} at {_iso(due)})"
                return _Outcome(
                    self._delivery(event, rule.name, target["Id"], "RETRYING", detail), retry=retry
                )
        return self._give_up(
            bus, event, rule, target, ingested, retries_made, exc.code, exc.message, exhausted
        )

    def _give_up(
        self,
        bus: str,
        event: Json,
        rule: Rule,
        target: Json,
        ingested: str,
        retries_made: int,
        code: str,
        message: str,
        exhausted: str | None,
    ) -> _Outcome:
        """No (further) attempt: keep a dead letter if the target has a DLQ, else drop the event."""
        now, error = self.clock.now(), f"{code}: {message}"
        if exhausted:
            error = f"{error} ({exhausted} reached)"
        dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
        if not dlq:
            return _Outcome(self._delivery(event, rule.name, target["Id"], "FAILED", error))
        letter = DeadLetter(
            str(uuid.uuid4()),
            bus,
            rule.name,
            rule.arn,
            target["Id"],
            target["Arn"],
            dlq,
            event,
            ingested,
            code,
            message,
            exhausted,
            retries_made,
            stamp(now),
        )
        detail = f"{error} (dead letter {letter.id})"
        return _Outcome(
            self._delivery(event, rule.name, target["Id"], "DEAD_LETTERED", detail), letter=letter
        )

    def _delivery(
        self, event: Json, rule: str, target_id: str, status: str, detail: str
    ) -> Delivery:
        return Delivery(event["id"], rule, target_id, status, detail, _iso(self.clock.now()))


def _policy(target: Json) -> RetryPolicy:
    try:
        return RetryPolicy.of(target)
    except ValidationException:  # stored before validation existed: use AWS's defaults
        return RetryPolicy()


@dataclass(frozen=True)
class _Outcome:
    """What one delivery attempt left to record: the delivery, and a retry or a dead letter."""

    delivery: Delivery
    retry: Retry | None = None
    letter: DeadLetter | None = None

    def record(self, conn: sqlite3.Connection) -> None:
        store.record_delivery(conn, self.delivery)
        if self.retry is not None:
            store.add_retry(conn, self.retry)
        if self.letter is not None:
            store.add_dead_letter(conn, self.letter)
