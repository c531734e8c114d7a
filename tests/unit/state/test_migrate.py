"""schema.sql and the numbered migrations must describe the same database."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

import s3batch.state
from s3batch.state import migrate as migrate_module
from s3batch.state.db import Database
from s3batch.state.migrate import latest_version, schema_sql

STATE_DIR = Path(s3batch.state.__file__).parent
MIGRATIONS = sorted((STATE_DIR / "migrations").glob("*.sql"))


def _number(path: Path) -> int:
    return int(path.name.split("_", 1)[0])


def _master(path: Path) -> list[tuple[str, str, str, str | None]]:
    """sqlite_master with the whitespace of each statement normalised."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
    finally:
        conn.close()
    return [(t, n, tbl, " ".join(sql.split()) if sql else None) for t, n, tbl, sql in rows]


def _user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def _build_from_migrations(path: Path, up_to: int) -> None:
    """Run every migration numbered up to ``up_to`` in order, as an old s3batch left it."""
    conn = sqlite3.connect(path)
    for script in MIGRATIONS:
        if _number(script) <= up_to:
            conn.executescript(script.read_text())
    conn.execute(f"PRAGMA user_version={up_to}")
    conn.commit()
    conn.close()


def _fresh_master(tmp_path: Path) -> list[tuple[str, str, str, str | None]]:
    Database(tmp_path / "fresh.db").close()
    return _master(tmp_path / "fresh.db")


def test_migration_files_are_numbered_one_to_n_without_gaps() -> None:
    assert MIGRATIONS, "no migrations shipped"
    assert all(re.fullmatch(r"\d{4}_[a-z0-9_]+\.sql", p.name) for p in MIGRATIONS), [
        p.name for p in MIGRATIONS
    ]
    assert [_number(p) for p in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert latest_version() == len(MIGRATIONS)


def test_schema_sql_is_the_packaged_file() -> None:
    assert schema_sql() == (STATE_DIR / "schema.sql").read_text()


def test_new_database_gets_schema_and_latest_user_version(tmp_path: Path) -> None:
    db = Database(tmp_path / "state.db")
    db.close()
    assert _user_version(tmp_path / "state.db") == len(MIGRATIONS)
    names = {row[1] for row in _fresh_master(tmp_path) if row[0] in ("table", "index") and row[3]}
    assert {
        "buckets",
        "objects",
        "uploads",
        "upload_parts",
        "released_blobs",
        "outbox",
        "outbox_pending",
    } <= names


def test_schema_sql_and_all_migrations_produce_the_same_sqlite_master(tmp_path: Path) -> None:
    _build_from_migrations(tmp_path / "migrated.db", up_to=len(MIGRATIONS))
    migrated = _master(tmp_path / "migrated.db")
    assert migrated == _fresh_master(tmp_path)


@pytest.mark.parametrize("start", range(len(MIGRATIONS)))
def test_opening_an_old_database_upgrades_it_to_the_current_schema(
    tmp_path: Path, start: int
) -> None:
    path = tmp_path / "old.db"
    _build_from_migrations(path, up_to=start)
    Database(path).close()
    assert _user_version(path) == len(MIGRATIONS)
    assert _master(path) == _fresh_master(tmp_path)


def test_reopening_a_current_database_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Database(path).close()
    before = _master(path)
    Database(path).close()
    assert _master(path) == before
    assert _user_version(path) == len(MIGRATIONS)


def test_database_newer_than_the_code_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(
        RuntimeError, match=rf"schema {len(MIGRATIONS) + 1}, newer .*\({len(MIGRATIONS)}\)"
    ):
        Database(path)
    assert _user_version(path) == len(MIGRATIONS) + 1
    assert _master(path) == []


def _with_extra_migration(monkeypatch: pytest.MonkeyPatch, script: str) -> int:
    """Ship one more migration than the package has (the upgrade path of a future release)."""
    real = migrate_module._migrations()
    number = real[-1][0] + 1
    monkeypatch.setattr(migrate_module, "_migrations", lambda: [*real, (number, script)])
    return number


def test_upgrade_runs_only_the_migrations_above_the_stored_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.db"
    Database(path).close()
    number = _with_extra_migration(
        monkeypatch, "CREATE TABLE extra (x INTEGER);\nCREATE INDEX extra_x ON extra (x);\n"
    )
    # Re-running 0001 would fail with "table buckets already exists".
    Database(path).close()
    assert _user_version(path) == number
    names = {row[1] for row in _master(path)}
    assert {"extra", "extra_x", "buckets"} <= names


def test_failed_upgrade_rolls_back_every_statement_and_the_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.db"
    Database(path).close()
    before = _master(path)
    _with_extra_migration(
        monkeypatch, "CREATE TABLE extra (x INTEGER);\nCREATE TABLE buckets (y);\n"
    )
    with pytest.raises(sqlite3.OperationalError, match="already exists"):
        Database(path)
    assert _master(path) == before
    assert _user_version(path) == len(MIGRATIONS)
