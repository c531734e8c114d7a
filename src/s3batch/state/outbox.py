"""The transactional outbox: record an event in the transaction that causes it.

Producers call :func:`append` inside their own write transaction, so the change and the
event commit together or not at all. A consumer :func:`claim`\\ s pending events of its
topic, acts on them, then :func:`ack`\\ s them; events claimed but never acked (the
consumer crashed) are handed out again once their claim is older than the lease.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from s3batch.types import Json

#: A claim older than this is considered abandoned and the event is handed out again.
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class OutboxEvent:
    """One pending event."""

    id: int
    topic: str
    payload: Json
    created_at: str


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def append(conn: sqlite3.Connection, topic: str, payload: Json, now: datetime) -> int:
    """Add an event in the caller's open transaction; return its id."""
    cursor = conn.execute(
        "INSERT INTO outbox (topic, payload, created_at) VALUES (?, ?, ?)",
        (topic, json.dumps(payload, separators=(",", ":")), _iso(now)),
    )
    return int(cursor.lastrowid or 0)


def claim(conn: sqlite3.Connection, topic: str, limit: int, now: datetime) -> list[OutboxEvent]:
    """Take up to ``limit`` pending events of ``topic`` (oldest first) in the caller's transaction."""
    stale = _iso(now - LEASE)
    rows = conn.execute(
        "SELECT id, topic, payload, created_at FROM outbox"
        " WHERE topic = ? AND acked_at IS NULL AND (claimed_at IS NULL OR claimed_at < ?)"
        " ORDER BY id LIMIT ?",
        (topic, stale, limit),
    ).fetchall()
    conn.executemany(
        "UPDATE outbox SET claimed_at = ? WHERE id = ?", [(_iso(now), row["id"]) for row in rows]
    )
    return [
        OutboxEvent(row["id"], row["topic"], json.loads(row["payload"]), row["created_at"])
        for row in rows
    ]


def ack(conn: sqlite3.Connection, ids: list[int], now: datetime) -> None:
    """Mark events as delivered in the caller's transaction."""
    conn.executemany("UPDATE outbox SET acked_at = ? WHERE id = ?", [(_iso(now), i) for i in ids])


def release(conn: sqlite3.Connection, ids: list[int]) -> None:
    """Hand claimed events back at once (their consumer failed before acting on them)."""
    conn.executemany(
        "UPDATE outbox SET claimed_at = NULL WHERE id = ? AND acked_at IS NULL", [(i,) for i in ids]
    )


def prune(conn: sqlite3.Connection, before: datetime) -> int:
    """Delete events acknowledged before ``before`` (their effects are recorded elsewhere)."""
    cursor = conn.execute(
        "DELETE FROM outbox WHERE acked_at IS NOT NULL AND acked_at < ?", (_iso(before),)
    )
    return cursor.rowcount


def pending(conn: sqlite3.Connection, topic: str) -> int:
    """How many events of ``topic`` are not yet acknowledged."""
    row = conn.execute(
        "SELECT count(*) AS n FROM outbox WHERE topic = ? AND acked_at IS NULL", (topic,)
    ).fetchone()
    return int(row["n"])
