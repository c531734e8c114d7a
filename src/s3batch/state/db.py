"""The state store: one SQLite file in WAL mode, one connection per thread.

Every commit is durable (``synchronous=FULL``): an acknowledged write survives a crash
of the process and of the machine. A transaction opened with ``durable=False`` skips the
fsync (``synchronous=NORMAL``): it survives a crash of the process, and one of the machine
once a later durable commit (which syncs the whole log before it) has been made. Write transactions start with ``BEGIN IMMEDIATE`` so
concurrent writers queue on the database lock instead of failing half-way.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from s3batch.state.migrate import migrate

logger = logging.getLogger(__name__)

#: How long a writer waits for the lock before giving up (milliseconds).
BUSY_TIMEOUT_MS = 30_000

Row = dict[str, Any]


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {col[0]: value for col, value in zip(cursor.description, row, strict=True)}


class Database:
    """A SQLite database shared by the services of one server."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        with self.transaction() as conn:
            migrate(conn)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.row_factory = _dict_row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        with self._lock:
            self._connections.append(conn)
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; use :meth:`transaction` to write)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """Run a write transaction: committed on success, rolled back on any error.

        Called inside another transaction of the same thread, it is a savepoint of that one:
        an error undoes only its own writes, and the outermost transaction commits. Callers
        batch several writes into one commit (one fsync) this way. ``durable=False``: the
        commit is not fsynced (for writes a machine crash may lose; see the module doc).
        """
        conn = self.conn
        if conn.in_transaction:
            yield from self._savepoint(conn)
            return
        # The level cannot change inside a transaction; it is set only when it differs
        # from this connection's last one (a busy engine's commits mostly are not durable).
        level = "FULL" if durable else "NORMAL"
        if getattr(self._local, "synchronous", "FULL") != level:
            conn.execute(f"PRAGMA synchronous={level}")
            self._local.synchronous = level
        # Writers of this process queue on a lock that wakes the next one at once; left to
        # SQLite's busy handler they would sleep-poll (1, 2, 5 … 100 ms) for the file lock.
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _savepoint(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        conn.execute("SAVEPOINT nested")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK TO nested")
            conn.execute("RELEASE nested")
            raise
        conn.execute("RELEASE nested")

    def close(self) -> None:
        """Close every connection opened by any thread."""
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
