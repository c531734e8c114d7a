"""Schema management: ``schema.sql`` builds a new database, numbered scripts upgrade old ones.

``PRAGMA user_version`` holds the number of the last migration applied. A new database
gets ``schema.sql`` (the whole current schema) and the latest number at once; an older
one runs each ``migrations/NNNN_*.sql`` above its version, in order, in one transaction.
"""

from __future__ import annotations

import logging
import sqlite3
from importlib import resources

logger = logging.getLogger(__name__)


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("s3batch.state").joinpath("migrations")
    found = [
        (int(f.name.split("_", 1)[0]), f.read_text())
        for f in folder.iterdir()
        if f.name.endswith(".sql")
    ]
    return sorted(found)


def latest_version() -> int:
    """The number of the newest migration shipped with this version of s3batch."""
    return max(number for number, _ in _migrations())


def schema_sql() -> str:
    """The whole current schema, as applied to a new database."""
    return resources.files("s3batch.state").joinpath("schema.sql").read_text()


def _executescript_in_txn(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT first; run statement by statement inside the caller's txn.
    for statement in _split(script):
        conn.execute(statement)


def _split(script: str) -> list[str]:
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return [s for s in statements if s]


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database in the caller's open transaction to the latest schema; return its version."""
    version: int = conn.execute("PRAGMA user_version").fetchone()["user_version"]
    latest = latest_version()
    if version > latest:
        raise RuntimeError(
            f"state database is at schema {version}, newer than this s3batch ({latest})"
        )
    if version == 0:
        _executescript_in_txn(conn, schema_sql())
    else:
        for number, script in _migrations():
            if number > version:
                logger.info("applying migration %04d", number, extra={"action": "migrate"})
                _executescript_in_txn(conn, script)
    conn.execute(f"PRAGMA user_version={latest}")
    return latest
