"""Sinks: how the rows of a spool reach a table of one target database.

A load drives every sink through the same steps, so that no target changes unless all
of them got the whole file: :meth:`Sink.open` (connect, begin, create or check the table
and the ledger; False when this append is already in the ledger), :meth:`Sink.stage`
(copy the rows into a staging table; a sink that :attr:`~Sink.streams` starts while the
object is still downloading), :meth:`Sink.swap` (replace, append or upsert them and write
the ledger row, still uncommitted), :meth:`Sink.commit`, and always
:meth:`Sink.close` (which rolls back anything not committed). Drivers are imported only when a target of
their engine is used, and a missing one names the extra to install.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from s3batch.loader.connections import (
    DuckDBTarget,
    PostgresTarget,
    RedshiftTarget,
    SqliteTarget,
    Target,
)
from s3batch.loader.errors import LoadConfigError
from s3batch.loader.ledger import LedgerEntry
from s3batch.loader.spool import Spool
from s3batch.loader.tables import TableDef

#: Where a sink writes its progress lines (the job log).
Echo = Callable[[str], None]


class Sink(Protocol):
    """One target database, loaded in one transaction."""

    #: How logs name the target.
    label: str
    #: Whether :meth:`stage` reads the spool only through :meth:`Spool.chunks`, and so may
    #: start while the object is still arriving (else it gets the whole file, and its rows counted).
    streams: bool

    def open(self, entry: LedgerEntry) -> bool:
        """Connect, begin, create or check the table; False if the ledger already has ``entry``.

        Only the entry's identity (bucket, key, version, table) is known yet.
        """
        ...

    def stage(self, spool: Spool) -> int:
        """Copy the spool's rows into a staging table; return how many were copied."""
        ...

    def swap(self, entry: LedgerEntry) -> int:
        """Apply the staged rows and write ``entry`` to the ledger (uncommitted); the table's row count."""
        ...

    def commit(self) -> None:
        """Commit the transaction: readers now see the new rows."""
        ...

    def close(self) -> None:
        """Roll back anything uncommitted and disconnect; never raises."""
        ...


def open_sink(target: Target, table: TableDef, echo: Echo) -> Sink:
    """The sink for ``target`` (not yet opened). Raises LoadConfigError if its driver is missing."""
    if isinstance(target, PostgresTarget):
        try:
            from s3batch.loader.sinks.postgres import PostgresSink
        except ImportError as exc:
            raise _missing("psycopg", "postgres", exc) from None
        return PostgresSink(target, table, echo)
    if isinstance(target, DuckDBTarget):
        try:
            from s3batch.loader.sinks.duckdb import DuckDBSink
        except ImportError as exc:
            raise _missing("duckdb", "duckdb", exc) from None
        return DuckDBSink(target, table, echo)
    if isinstance(target, SqliteTarget):
        from s3batch.loader.sinks.sqlite import SqliteSink  # the standard library's sqlite3

        return SqliteSink(target, table, echo)
    if isinstance(target, RedshiftTarget):
        try:
            from s3batch.loader.sinks.redshift import RedshiftSink
        except ImportError as exc:
            raise _missing("psycopg", "postgres", exc) from None
        return RedshiftSink(target, table, echo)
    raise LoadConfigError(f"no sink for {target!r}")


def _missing(module: str, extra: str, exc: ImportError) -> LoadConfigError:
    if exc.name not in (module, None) and not (exc.name or "").startswith(module + "."):
        raise exc
    return LoadConfigError(
        f"{extra} targets need the {module} package: pip install 's3batch[{extra}]'"
    )
