"""SQL for secrets: the only place that knows the ``secrets`` table.

Rows holding ``secret_string`` stay inside this module: callers get a :class:`Secret`
(no value) or a :class:`SecretValue` (value hidden from ``repr``).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from s3batch.secrets.models import Secret, SecretValue
from s3batch.state.db import Row

_COLUMNS = "name, arn, description, created_at, changed_at, version_id, version_created_at"


def to_text(moment: datetime) -> str:
    """Store a time as ISO 8601 UTC with milliseconds."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def from_text(text: str) -> datetime:
    """Parse a time stored by :func:`to_text`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _secret(row: Row) -> Secret:
    return Secret(
        name=row["name"],
        arn=row["arn"],
        description=row["description"],
        created_at=from_text(row["created_at"]),
        changed_at=from_text(row["changed_at"]),
        version_id=row["version_id"],
        version_created_at=from_text(row["version_created_at"]),
    )


def get(
    conn: sqlite3.Connection, *, name: str | None = None, arn: str | None = None
) -> Secret | None:
    """A secret by name or by full ARN, without its value."""
    column, key = ("arn", arn) if arn is not None else ("name", name)
    row = conn.execute(f"SELECT {_COLUMNS} FROM secrets WHERE {column} = ?", (key,)).fetchone()
    return _secret(row) if row else None


def get_value(conn: sqlite3.Connection, name: str) -> SecretValue | None:
    """A secret by name with its current value."""
    row = conn.execute(
        f"SELECT {_COLUMNS}, secret_string FROM secrets WHERE name = ?", (name,)
    ).fetchone()
    return SecretValue(_secret(row), row["secret_string"]) if row else None


def list_all(conn: sqlite3.Connection) -> list[Secret]:
    """Every secret, by name, without values."""
    return [_secret(r) for r in conn.execute(f"SELECT {_COLUMNS} FROM secrets ORDER BY name")]


def upsert(conn: sqlite3.Connection, secret: Secret, secret_string: str) -> None:
    """Insert a secret or replace its row (same name) with a new description or version."""
    conn.execute(
        f"INSERT OR REPLACE INTO secrets ({_COLUMNS}, secret_string) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            secret.name,
            secret.arn,
            secret.description,
            to_text(secret.created_at),
            to_text(secret.changed_at),
            secret.version_id,
            to_text(secret.version_created_at),
            secret_string,
        ),
    )


def delete(conn: sqlite3.Connection, name: str) -> None:
    """Remove a secret and its value."""
    conn.execute("DELETE FROM secrets WHERE name = ?", (name,))
