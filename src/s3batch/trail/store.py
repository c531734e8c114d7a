"""SQL for trails and the CloudTrail records they logged."""

from __future__ import annotations

import json
import sqlite3

from s3batch.trail.models import Trail
from s3batch.types import Json


def put_trail(conn: sqlite3.Connection, trail: Trail) -> None:
    """Create or replace a trail."""
    conn.execute(
        "INSERT OR REPLACE INTO trails (name, arn, request) VALUES (?, ?, ?)",
        (trail.name, trail.arn, json.dumps(trail.to_request())),
    )


def trails(conn: sqlite3.Connection) -> list[Trail]:
    """Every trail, by name."""
    return [
        Trail.from_request(json.loads(r["request"]), r["arn"])
        for r in conn.execute("SELECT * FROM trails ORDER BY name")
    ]


def add_record(conn: sqlite3.Connection, record: Json) -> None:
    """Keep a CloudTrail record (for LookupEvents and the dashboard)."""
    conn.execute(
        "INSERT INTO trail_events (event_id, event_time, event_name, bucket, key, record) VALUES (?, ?, ?, ?, ?, ?)",
        (
            record["eventID"],
            record["eventTime"],
            record["eventName"],
            record["requestParameters"]["bucketName"],
            record["requestParameters"]["key"],
            json.dumps(record),
        ),
    )


def recent_records(conn: sqlite3.Connection, limit: int = 50) -> list[Json]:
    """The newest records first."""
    rows = conn.execute("SELECT record FROM trail_events ORDER BY rowid DESC LIMIT ?", (limit,))
    return [json.loads(r["record"]) for r in rows]


def records_before(
    conn: sqlite3.Connection, before: int | None, limit: int
) -> list[tuple[int, Json]]:
    """Up to ``limit`` records logged before position ``before`` (all when None), newest first, with their positions."""
    rows = conn.execute(
        "SELECT rowid AS pos, record FROM trail_events WHERE rowid < ? ORDER BY rowid DESC LIMIT ?",
        (before if before is not None else 2**63 - 1, limit),
    )
    return [(int(r["pos"]), json.loads(r["record"])) for r in rows]
