"""Fixtures for the logs tests: a Logs service on the shared state database, with a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from s3batch.clock import FakeClock
from s3batch.logs.service import Logs
from s3batch.state.db import Database


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def logs(db: Database, clock: FakeClock) -> Logs:
    return Logs(db, clock, "us-east-1", "123456789012")
