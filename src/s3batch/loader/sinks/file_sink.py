"""What the sinks of the two file databases, DuckDB and SQLite, share.

Both open the file, run the whole load in one transaction on one connection, keep the
ledger in the file itself, and turn their driver's errors into the loader's: a duplicate
key into :class:`~s3batch.loader.errors.DuplicateKey`, a value the database refuses while
reading a fast-path spool into :class:`~s3batch.loader.errors.RowsRefused`, anything else
into :class:`~s3batch.loader.errors.TargetError`. Neither streams: DuckDB reads the file
itself, SQLite's rows are read and checked in Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from s3batch.loader.connections import DuckDBTarget, SqliteTarget
from s3batch.loader.errors import DuplicateKey, RowsRefused, TargetError
from s3batch.loader.ledger import APPENDED, CREATE, LedgerEntry, for_duckdb
from s3batch.loader.sinks import Echo
from s3batch.loader.tables import TableDef


class Connection(Protocol):
    """What the two drivers' connections have alike."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any:
        """Run one statement."""
        ...

    def close(self) -> None:
        """Close the file."""
        ...


#: The driver's connection (``duckdb.DuckDBPyConnection``, ``sqlite3.Connection``).
Conn = TypeVar("Conn", bound=Connection)


class FileSink(Generic[Conn]):
    """The common part of :class:`~.duckdb.DuckDBSink` and :class:`~.sqlite.SqliteSink`."""

    streams = False
    #: The driver's base error class.
    driver_error: ClassVar[type[Exception]]
    #: The driver's errors for a value it cannot read from a file (none: read in Python).
    refused: ClassVar[tuple[type[Exception], ...]] = ()

    def __init__(self, target: DuckDBTarget | SqliteTarget, table: TableDef, echo: Echo) -> None:
        self.target, self.table, self.echo = target, table, echo
        self.label = target.label
        self._conn: Conn | None = None
        self._staged = 0

    def commit(self) -> None:
        """Commit: readers now see the new rows."""
        with self._errors("committing"):
            self._connection.execute("COMMIT")
        self.close()

    def close(self) -> None:
        """Roll back anything uncommitted and close the file."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute("ROLLBACK")
        except self.driver_error:
            pass  # no transaction open (committed, or it failed to begin)
        finally:
            conn.close()

    @property
    def _connection(self) -> Conn:
        if self._conn is None:
            raise TargetError(f"{self.label}: not open")
        return self._conn

    def _check_ledger(self, entry: LedgerEntry) -> bool:
        """Create the ledger if missing; False (and say so) if it has this append already."""
        conn = self._connection
        conn.execute(CREATE)
        row = conn.execute(for_duckdb(APPENDED), entry.identity()).fetchone()
        if entry.skip(int(row[0]) if row else 0):
            self.echo(entry.repeat_note(self.label))
            return False
        return True

    def _duplicate(self, exc: Exception, reason: str) -> bool:
        """Whether the driver's error is a duplicate key."""
        raise NotImplementedError

    @contextmanager
    def _errors(self, doing: str, refusable: bool = False) -> Iterator[None]:
        """Turn driver errors into the loader's; with ``refusable``, a value the database
        cannot read into RowsRefused."""
        try:
            yield
        except self.driver_error as exc:
            reason = " ".join(str(exc).split())
            if refusable and isinstance(exc, self.refused):
                raise RowsRefused(f"{self.label}: {doing} failed: {reason}") from exc
            error: type[TargetError] = TargetError
            if self._duplicate(exc, reason):
                error = DuplicateKey
                reason = f"duplicate primary key in {DuplicateKey.scope(self.table.mode)}: {reason}"
            raise error(f"{self.label}: {doing} failed: {reason}") from exc
