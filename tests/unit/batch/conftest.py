"""Fixtures for the batch tests: a state database, a service, compute environments and queues."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import s3batch.state
from s3batch.batch.service import BatchService
from s3batch.clock import FakeClock
from s3batch.state.db import Database

MIGRATION = Path(s3batch.state.__file__).parent / "migrations" / "0002_batch_logs.sql"


def apply_batch_logs_migration(db: Database) -> None:
    """Create the 0002 tables when schema.sql lacks them. Remove once 0002 is in schema.sql."""
    found = db.conn.execute(
        "SELECT 1 FROM sqlite_master WHERE name = 'compute_environments'"
    ).fetchone()
    if found is None:
        db.conn.executescript(MIGRATION.read_text())


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "state.db")
    apply_batch_logs_migration(database)  # remove once 0002 is in schema.sql
    yield database
    database.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def service(db: Database, clock: FakeClock) -> BatchService:
    return BatchService(db, clock, "us-east-1", "123456789012")
