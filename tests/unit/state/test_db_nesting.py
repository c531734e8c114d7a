"""Database.transaction inside another: a savepoint of the outer one."""

from __future__ import annotations

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


def test_a_transaction_that_is_not_durable_commits_and_leaves_the_connection_durable(
    db: Database,
) -> None:
    with db.transaction(durable=False) as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()["synchronous"] == 1  # NORMAL
        conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(RuntimeError), db.transaction(durable=False) as conn:
        raise RuntimeError("boom")
    assert db.conn.execute("PRAGMA synchronous").fetchone()["synchronous"] == 2  # FULL
    assert _values(db) == [1]
