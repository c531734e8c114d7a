"""SQL for resource tags (compute environments, queues, definitions and jobs), keyed by ARN."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping

from s3batch.batch.store.sql import marks


def set_tags(conn: sqlite3.Connection, arn: str, tags: Mapping[str, str]) -> None:
    """Add or replace tags of a resource."""
    conn.executemany(
        "INSERT INTO batch_tags (arn, key, value) VALUES (?, ?, ?)"
        " ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value",
        [(arn, k, v) for k, v in tags.items()],
    )


def remove_tags(conn: sqlite3.Connection, arn: str, keys: Iterable[str]) -> None:
    """Remove tags of a resource by key."""
    keys = list(keys)
    conn.execute(f"DELETE FROM batch_tags WHERE arn = ? AND key IN ({marks(keys)})", [arn, *keys])


def get_tags(conn: sqlite3.Connection, arn: str) -> dict[str, str]:
    """A resource's tags."""
    rows = conn.execute("SELECT key, value FROM batch_tags WHERE arn = ? ORDER BY key", (arn,))
    return {r["key"]: r["value"] for r in rows}


def drop_tags(conn: sqlite3.Connection, arn: str) -> None:
    """Forget every tag of a deleted resource."""
    conn.execute("DELETE FROM batch_tags WHERE arn = ?", (arn,))
