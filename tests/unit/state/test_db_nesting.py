"""Database.transaction inside another: a savepoint of the outer one."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from s3batch.state.db import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "state.db")
    database.conn.execute("CREATE TABLE t (v INTEGER)")
    yield database
    database.close()


def _values(db: Database) -> list[int]:
    return [r["v"] for r in db.conn.execute("SELECT v FROM t ORDER BY v")]


def test_a_nested_transaction_commits_with_the_outer_one(db: Database) -> None:
    with db.transaction() as conn:
        conn.execute("INSERT INTO t VALUES (1)")
        with db.transaction() as inner:
            inner.execute("INSERT INTO t VALUES (2)")
        assert conn.in_transaction
    assert _values(db) == [1, 2]


def test_a_failing_nested_transaction_undoes_only_its_own_writes(db: Database) -> None:
    with db.transaction() as conn:
        conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(RuntimeError), db.transaction() as inner:
            inner.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError("boom")
        conn.execute("INSERT INTO t VALUES (3)")
    assert _values(db) == [1, 3]


def test_a_failing_outer_transaction_undoes_everything(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn.execute("INSERT INTO t VALUES (1)")
        with db.transaction() as inner:
            inner.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError("boom")
    assert _values(db) == []


def _level(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA synchronous").fetchone()["synchronous"])


def test_each_transaction_commits_at_the_durability_it_asks_for(db: Database) -> None:
    with db.transaction(durable=False) as conn:
        assert _level(conn) == 1  # NORMAL: no fsync at commit
        conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(RuntimeError), db.transaction(durable=False) as conn:
        raise RuntimeError("boom")
    with db.transaction() as conn:
        assert _level(conn) == 2  # FULL: after non-durable ones too
        conn.execute("INSERT INTO t VALUES (2)")
    with db.transaction(durable=False) as conn, db.transaction() as inner:
        assert _level(inner) == 1  # nested: the outermost transaction's level
    assert _values(db) == [1, 2]
