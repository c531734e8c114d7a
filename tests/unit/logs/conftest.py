"""Fixtures for the logs tests: a state database with the log tables, and a Logs service."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import s3batch.state
from s3batch.clock import FakeClock
from s3batch.logs.service import Logs
from s3batch.state.db import Database

MIGRATION = Path(s3batch.state.__file__).parent / "migrations" / "0002_batch_logs.sql"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "state.db")
    # Remove once 0002 is in schema.sql: create the log tables schema.sql still lacks.
    if (
        database.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'log_events'").fetchone()
        is None
    ):
        database.conn.executescript(MIGRATION.read_text())
    yield database
    database.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def logs(db: Database, clock: FakeClock) -> Logs:
    return Logs(db, clock, "us-east-1", "123456789012")
