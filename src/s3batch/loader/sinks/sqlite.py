"""SQLite sink: load a table of a SQLite database file, in one transaction.

The file is switched to WAL journaling and the load takes the write lock at once
(``BEGIN IMMEDIATE``; another writer is waited for up to :data:`LOCK_WAIT` seconds), so
readers keep reading the last committed rows for the whole load and see the new ones
only after the commit: never an empty or a partial table.

In one transaction: create the table from its definition if it is missing (or check its
columns against the definition), then, by mode:

- ``replace`` deletes the table's rows and inserts the file's into the same table. Unlike
  the rename-and-drop swap of PostgreSQL and DuckDB, this keeps the views, triggers,
  indexes created by hand on the table, as SQLite has no grants to lose; WAL gives the
  same atomicity;
- ``append`` inserts into the table after checking the ledger;
- ``upsert`` inserts into a temporary staging table, then ``INSERT ... ON CONFLICT (pk)
  DO UPDATE ... WHERE`` a value differs, so unchanged rows are not rewritten.

Every mode records the load in the ledger (:mod:`s3batch.loader.ledger`) in the same
transaction. Values are stored with SQLite's type affinity (integers as INTEGER, numerics
as numbers, dates and timestamps as ISO text) and booleans as 1 and 0.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from datetime import datetime

from s3batch.loader.ledger import INSERT, LedgerEntry, for_duckdb
from s3batch.loader.sinks.file_sink import FileSink
from s3batch.loader.sinks.schema import column_list, differences, mismatch, quoted
from s3batch.loader.spool import Spool
from s3batch.loader.tables import SqlType, parse_type

#: Name of the temporary staging table of an upsert.
STAGING = "s3batch_staging"
#: Seconds to wait while another connection holds the write lock.
LOCK_WAIT = 60.0

#: Spool text of a boolean → what SQLite stores.
_BOOLEANS = {"true": 1, "false": 0}


def catalog_type(sql_type: SqlType) -> str:
    """A type as the loader declares it in SQLite (which keeps declared types as written)."""
    return str(sql_type)


def _declared(text: str) -> str:
    """A declared type as :func:`catalog_type` spells it, when it is one the loader knows."""
    try:
        return str(parse_type(text.lower()))
    except ValueError:
        return text


class SqliteSink(FileSink[sqlite3.Connection]):
    """Loads one table of one SQLite file (see the module docstring)."""

    driver_error = sqlite3.Error

    def open(self, entry: LedgerEntry) -> bool:
        """Open the file, begin, create or check the table; False if the ledger has this append."""
        self.echo(f"Opening sqlite file {self.target.path}")
        with self._errors("opening the file"):
            self._conn = sqlite3.connect(self.target.path, timeout=LOCK_WAIT, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("BEGIN IMMEDIATE")
        with self._errors(f"checking table {self.table.name}"):
            self._prepare_table()
            return self._check_ledger(entry)

    def stage(self, spool: Spool) -> int:
        """Insert the spool's rows: into the table (replace, append) or a staging table (upsert)."""
        mode, name = self.table.mode, quoted(self.table.name)
        self.echo(f"loading {spool.rows} rows into {self.table.name} ({mode})")
        with self._errors(f"inserting rows into {self.table.name}"):
            conn = self._connection
            into = name
            if mode == "replace":
                conn.execute(f"DELETE FROM {name}")
            elif mode == "upsert":
                into = f"temp.{quoted(STAGING)}"
                conn.execute(
                    f"CREATE TEMPORARY TABLE {quoted(STAGING)} ({column_list(self.table, catalog_type)})"
                )
            marks = ", ".join("?" * len(self.table.columns))
            cursor = conn.executemany(
                f"INSERT INTO {into} VALUES ({marks})", self._converted(spool.iter_rows())
            )
            self._staged = max(cursor.rowcount, 0)
        self.echo(f"INSERT {self._staged}")
        return self._staged

    def swap(self, entry: LedgerEntry) -> int:
        """Merge the staged rows (upsert) and record ``entry`` in the ledger; the table's row count."""
        name = quoted(self.table.name)
        with self._errors(f"{self.table.mode} into {self.table.name}"):
            conn = self._connection
            if self.table.mode == "upsert":
                self._merge()
            conn.execute(for_duckdb(INSERT), _ledger_values(entry))
            row = conn.execute(f"SELECT count(*) FROM {name}").fetchone()
        count = int(row[0]) if row else 0
        self.echo(f"{self.table.name} now has {count} rows in {self.label}")
        return count

    def _prepare_table(self) -> None:
        conn, name = self._connection, self.table.name
        info = conn.execute(f"PRAGMA table_info({quoted(name)})").fetchall()
        if not info:
            conn.execute(f"CREATE TABLE {quoted(name)} ({self._table_ddl()})")
            self.echo(f"CREATE TABLE {name}")
            return
        found = [(str(n), _declared(str(t)), bool(nn)) for _, n, t, nn, _, _ in info]
        pk = [str(row[1]) for row in sorted((r for r in info if r[5]), key=lambda r: r[5])]
        problems = differences(self.table, found, pk, catalog_type)
        if problems:
            raise mismatch(self.label, self.table, problems)
        self.echo(f"table {name} exists")

    def _converted(self, rows: Iterable[tuple[str | None, ...]]) -> Iterator[tuple[object, ...]]:
        """``rows`` with booleans as 1/0 (other values are converted by column affinity)."""
        flags = [i for i, c in enumerate(self.table.columns) if c.type.name == "boolean"]
        if not flags:
            yield from rows
            return
        for row in rows:
            values: list[object] = list(row)
            for i in flags:
                if values[i] is not None:
                    values[i] = _BOOLEANS[str(values[i])]
            yield tuple(values)

    def _merge(self) -> None:
        names = [quoted(c.name) for c in self.table.columns]
        keys = [quoted(k) for k in self.table.primary_key]
        others = [n for n in names if n not in keys]
        action = "DO NOTHING"
        if others:
            sets = ", ".join(f"{n} = excluded.{n}" for n in others)
            changed = " OR ".join(
                f"{quoted(self.table.name)}.{n} IS NOT excluded.{n}" for n in others
            )
            action = f"DO UPDATE SET {sets} WHERE {changed}"
        cursor = self._connection.execute(
            f"INSERT INTO {quoted(self.table.name)} SELECT * FROM temp.{quoted(STAGING)} WHERE true "
            f"ON CONFLICT ({', '.join(keys)}) {action}"
        )
        changed_rows = max(cursor.rowcount, 0)
        self.echo(
            f"upsert: {changed_rows} rows inserted or changed, {self._staged - changed_rows} unchanged"
        )

    def _table_ddl(self) -> str:
        pk = self.table.primary_key
        keys = f", PRIMARY KEY ({', '.join(map(quoted, pk))})" if pk else ""
        return column_list(self.table, catalog_type) + keys

    def _duplicate(self, exc: Exception, reason: str) -> bool:
        return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE constraint" in reason


def _ledger_values(entry: LedgerEntry) -> tuple[object, ...]:
    """The ledger row's values, with the time as ISO text (SQLite has no timestamp type)."""
    return tuple(v.isoformat(sep=" ") if isinstance(v, datetime) else v for v in entry.values())
