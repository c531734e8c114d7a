"""Trails: which object calls are logged, and the relay that logs them and hands them to the bus.

The relay claims object API calls from the outbox (topic ``s3.api_call``), and in one
transaction records the CloudTrail record of every call a trail selects, puts the
EventBridge event that carries it on the bus's outbox, and acknowledges the call. So
each call is logged and published exactly once, even across crashes.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime

from s3batch.clock import Clock
from s3batch.state import outbox
from s3batch.state.db import Database
from s3batch.trail import store
from s3batch.trail.lookup import event_time
from s3batch.trail.models import Trail
from s3batch.trail.records import bus_event, cloudtrail_record
from s3batch.trail.selectors import selects
from s3batch.types import Json

logger = logging.getLogger(__name__)

#: Outbox topic this relay consumes (written by the object store).
CALLS_TOPIC = "s3.api_call"
#: LookupEvents reads records in chunks of this many.
SCAN_CHUNK = 500
#: Outbox topic of the default event bus.
BUS_TOPIC = "events.bus"


class Trails:
    """Trail definitions and the relay from object calls to CloudTrail events."""

    def __init__(self, db: Database, clock: Clock, region: str, account_id: str) -> None:
        self.db = db
        self.clock = clock
        self.region = region
        self.account_id = account_id

    def ensure(self, request: Json) -> Trail:
        """Create or update a trail from a CreateTrail (+ EventSelectors) request."""
        arn = f"arn:aws:cloudtrail:{self.region}:{self.account_id}:trail/{request['Name']}"
        trail = Trail.from_request(request, arn)
        with self.db.transaction() as conn:
            store.put_trail(conn, trail)
        return trail

    def trails(self) -> list[Trail]:
        """Every trail."""
        return store.trails(self.db.conn)

    def relay(self, limit: int = 100) -> int:
        """Log and publish up to ``limit`` pending object calls; return how many were handled."""
        now = self.clock.now()
        with self.db.transaction() as conn:
            calls = outbox.claim(conn, CALLS_TOPIC, limit, now)
            trails = store.trails(conn) if calls else []
            for call in calls:
                self._log(conn, call.payload, trails, now)
            outbox.ack(conn, [c.id for c in calls], now)
        return len(calls)

    def _log(
        self, conn: sqlite3.Connection, call: Json, trails: list[Trail], now: datetime
    ) -> None:
        chosen = [t for t in trails if selects(t, call["bucket"], call["key"], read_only=False)]
        if not chosen:
            return
        record = cloudtrail_record(call, self.account_id)
        store.add_record(conn, record)
        outbox.append(
            conn, BUS_TOPIC, {"bus": "default", "event": bus_event(record, self.account_id)}, now
        )
        logger.debug(
            "logged %s s3://%s/%s",
            call["eventName"],
            call["bucket"],
            call["key"],
            extra={"action": "trail"},
        )

    def lookup(
        self,
        test: Callable[[Json], bool],
        start: datetime | None,
        end: datetime | None,
        limit: int,
        before: int | None = None,
    ) -> tuple[list[Json], int | None]:
        """Records passing ``test`` within [start, end], newest first: a page and the position to go on from."""
        found: list[Json] = []
        while True:
            chunk = store.records_before(self.db.conn, before, SCAN_CHUNK)
            for pos, record in chunk:
                when = event_time(record)
                if (
                    (start is None or when >= start)
                    and (end is None or when <= end)
                    and test(record)
                ):
                    if len(found) == limit:
                        return found, before
                    found.append(record)
                before = pos
            if len(chunk) < SCAN_CHUNK:
                return found, None

    def recent(self, limit: int = 50) -> list[Json]:
        """The newest CloudTrail records."""
        return store.recent_records(self.db.conn, limit)
