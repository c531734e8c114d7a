"""The Loads page's data: which secrets are targets, and each target's ledger by table."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from s3batch.clock import FakeClock
from s3batch.loader.connections import DuckDBTarget, PostgresTarget, RedshiftTarget, SqliteTarget
from s3batch.loader.ledger import CREATE, INSERT, LedgerEntry, for_duckdb
from s3batch.secrets.service import Secrets
from s3batch.state.db import Database
from s3batch.web.loads import Misconfigured, load_targets, read_ledger
from s3batch.web.render import environment

T0 = datetime(2026, 1, 2, 3, 4, 5)


def test_the_targets_are_the_secrets_naming_an_engine_the_loader_knows(tmp_path: Path) -> None:
    secrets = Secrets(
        Database(tmp_path / "state.db"), FakeClock(T0.replace(tzinfo=UTC)), "us-east-1", "0" * 12
    )
    postgres = {"engine": "postgres", "host": "db", "dbname": "d", "username": "u", "password": "p"}
    secrets.ensure("pg", json.dumps(postgres))
    secrets.ensure("warehouse", json.dumps({"engine": "duckdb", "path": "/w.duckdb"}))
    secrets.ensure("lite", json.dumps({"engine": "sqlite", "path": "/l.db"}))
    secrets.ensure("mysql", json.dumps({**postgres, "engine": "mysql"}))
    secrets.ensure("token", "not json")
    secrets.ensure("list", "[1, 2]")
    # Known engines the loader cannot use are listed with why, naming fields, not values.
    secrets.ensure("bad-port", json.dumps({**postgres, "port": "notaport"}))
    secrets.ensure("no-db", json.dumps({k: v for k, v in postgres.items() if k != "dbname"}))
    found = {t.secret_id: t for t in load_targets(secrets)}
    assert set(found) == {"pg", "warehouse", "lite", "bad-port", "no-db"}
    assert isinstance(found["pg"], PostgresTarget) and isinstance(found["warehouse"], DuckDBTarget)
    assert isinstance(found["bad-port"], Misconfigured) and "port" in found["bad-port"].error
    assert isinstance(found["no-db"], Misconfigured) and "dbname" in found["no-db"].error
    assert "notaport" not in found["bad-port"].error


def _ledger_file(path: Path, entries: list[LedgerEntry]) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(CREATE)
        conn.executemany(for_duckdb(INSERT), [_sqlite_values(e) for e in entries])


def _sqlite_values(entry: LedgerEntry) -> tuple[object, ...]:
    values = list(entry.values())
    values[5] = entry.loaded_at.isoformat(" ")  # as the SQLite sink stores times
    return tuple(values)


def _entry(table: str, key: str, minutes: int) -> LedgerEntry:
    return LedgerEntry(
        "b", key, "etag", table, "replace", T0 + timedelta(minutes=minutes), "job-1", 2, 0
    )


def test_a_ledger_is_grouped_by_table_newest_first(tmp_path: Path) -> None:
    path = tmp_path / "target.db"
    _ledger_file(
        path,
        [
            _entry("persons", "old.csv", 0),
            _entry("orders", "o.csv", 1),
            _entry("persons", "new.csv", 2),
        ],
    )
    ledger = read_ledger(SqliteTarget("lite", str(path)))
    assert ledger.error is None and not ledger.truncated
    assert list(ledger.tables) == ["orders", "persons"]
    assert [e.key for e in ledger.tables["persons"]] == ["new.csv", "old.csv"]


def test_a_target_without_a_ledger_has_none_and_an_unreadable_one_says_why(tmp_path: Path) -> None:
    assert read_ledger(SqliteTarget("lite", str(tmp_path / "missing.db"))).tables == {}
    redshift = RedshiftTarget(
        "rs", "h", 5439, "dev", "user", "hunter2", "arn:aws:iam::0:role/r", "us-east-1"
    )
    ledger = read_ledger(redshift)
    assert ledger.error and "redshift" in ledger.error and "hunter2" not in ledger.error


def test_naive_ledger_times_are_shown_as_utc_whatever_the_local_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        when = environment().filters["when"]
        assert when(T0) == "2026-01-02 03:04:05Z"
        assert when(T0.replace(tzinfo=UTC)) == "2026-01-02 03:04:05Z"
    finally:
        monkeypatch.undo()
        time.tzset()
