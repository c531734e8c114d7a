"""DuckDB sink: replace a table's rows in a DuckDB file, in one transaction.

The file is opened only for the load and closed after it, so other processes (a
dashboard, a user's ``duckdb`` shell) can open it between loads; while another process
holds it, opening is retried for up to :data:`LOCK_WAIT` seconds.

In one transaction: create the table from its definition if it is missing (or check its
columns against the definition), create ``<table>__s3batch_new`` with the definition's
primary key, ``COPY`` the spool file into it, drop the table and rename the staging
table to its name. On any error the transaction rolls back and the table keeps its
rows. DuckDB binds views by name when they are queried, so views over the table keep
working; indexes created on the table by hand are dropped with it.

``append`` copies straight into the table after checking the ledger; ``upsert`` copies
into a temporary staging table, then ``INSERT ... ON CONFLICT (pk) DO UPDATE ... WHERE``
the row differs, so unchanged rows are not rewritten. Every mode records the load in
the ledger (:mod:`s3batch.loader.ledger`) in the same transaction.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from s3batch.loader.connections import DuckDBTarget
from s3batch.loader.errors import TargetError
from s3batch.loader.ledger import APPENDED, CREATE, INSERT, LedgerEntry, for_duckdb
from s3batch.loader.sinks import Echo
from s3batch.loader.sinks.schema import column_list, differences, mismatch, quoted
from s3batch.loader.spool import Spool
from s3batch.loader.tables import SqlType, TableDef

#: Suffix of the staging table.
STAGING_SUFFIX = "__s3batch_new"
#: Seconds to keep retrying while another process holds the file.
LOCK_WAIT = 60.0

#: Catalog spelling of each type (``information_schema.columns.data_type``).
_CATALOG = {
    "varchar": "VARCHAR",
    "text": "VARCHAR",
    "real": "FLOAT",
    "double precision": "DOUBLE",
}

_COLUMNS = """
SELECT column_name, data_type, is_nullable = 'NO'
FROM information_schema.columns
WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_name = ?
ORDER BY ordinal_position
"""
_PRIMARY_KEY = """
SELECT constraint_column_names
FROM duckdb_constraints()
WHERE database_name = current_database() AND schema_name = current_schema()
  AND table_name = ? AND constraint_type = 'PRIMARY KEY'
"""


def catalog_type(sql_type: SqlType) -> str:
    """A type as DuckDB's information schema spells it, e.g. ``DECIMAL(10,0)``."""
    if sql_type.name == "numeric":
        return f"DECIMAL({sql_type.precision},{sql_type.scale})"
    return _CATALOG.get(sql_type.name, sql_type.name.upper())


class DuckDBSink:
    """Loads one table of one DuckDB file (see the module docstring)."""

    def __init__(self, target: DuckDBTarget, table: TableDef, echo: Echo) -> None:
        self.target, self.table, self.echo = target, table, echo
        self.label = target.label
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._entry: LedgerEntry | None = None
        self._staged = 0

    def open(self, entry: LedgerEntry) -> bool:
        """Open the file, begin, create or check the table; False if the ledger has this append."""
        self.echo(f"Opening duckdb file {self.target.path}")
        with self._errors("opening the file"):
            self._conn = _connect(self.target.path)
            self._conn.execute("BEGIN TRANSACTION")
        with self._errors(f"checking table {self.table.name}"):
            self._prepare_table()
            return self._check_ledger(entry)

    def stage(self, spool: Spool) -> int:
        """COPY the spool into the staging table (into the table itself when appending)."""
        mode, name = self.table.mode, quoted(self.table.name)
        self.echo(f"loading {spool.rows} rows into {self.table.name} ({mode})")
        with self._errors(f"copying rows into {self.table.name}"):
            conn = self._connection
            into = name if mode == "append" else quoted(self.table.name + STAGING_SUFFIX)
            if mode != "append":
                temporary = "TEMPORARY " if mode == "upsert" else ""
                conn.execute(f"CREATE {temporary}TABLE {into} ({self._table_ddl()})")
            path = str(spool.path).replace("'", "''")
            row = conn.execute(
                f"COPY {into} FROM '{path}' (FORMAT csv, HEADER false, DELIMITER ',', "
                "QUOTE '\"', ESCAPE '\"', NULL '', ALLOW_QUOTED_NULLS false, AUTO_DETECT false)"
            ).fetchone()
        self._staged = int(row[0]) if row else 0
        self.echo(f"COPY {self._staged}")
        return self._staged

    def swap(self) -> int:
        """Apply the staged rows as the mode says and record the ledger row; the row count."""
        name = quoted(self.table.name)
        with self._errors(f"{self.table.mode} into {self.table.name}"):
            conn = self._connection
            if self.table.mode == "replace":
                conn.execute(f"DROP TABLE {name}")
                conn.execute(
                    f"ALTER TABLE {quoted(self.table.name + STAGING_SUFFIX)} RENAME TO {name}"
                )
            elif self.table.mode == "upsert":
                self._merge()
            if self._entry is not None:
                conn.execute(for_duckdb(INSERT), self._entry.values())
            row = conn.execute(f"SELECT count(*) FROM {name}").fetchone()
        count = int(row[0]) if row else 0
        self.echo(f"{self.table.name} now has {count} rows in {self.label}")
        return count

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
        except duckdb.Error:
            pass  # no transaction open (committed, or it failed to begin)
        finally:
            conn.close()

    @property
    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._conn is None:
            raise TargetError(f"{self.label}: not open")
        return self._conn

    def _prepare_table(self) -> None:
        conn, name = self._connection, self.table.name
        found = [
            (str(n), str(t), bool(nn)) for n, t, nn in conn.execute(_COLUMNS, [name]).fetchall()
        ]
        if not found:
            conn.execute(f"CREATE TABLE {quoted(name)} ({self._table_ddl()})")
            self.echo(f"CREATE TABLE {name}")
            return
        pk_row = conn.execute(_PRIMARY_KEY, [name]).fetchone()
        pk = [str(c) for c in pk_row[0]] if pk_row else []
        problems = differences(self.table, found, pk, catalog_type)
        if problems:
            raise mismatch(self.label, self.table, problems)
        self.echo(f"table {name} exists")

    def _check_ledger(self, entry: LedgerEntry) -> bool:
        conn, self._entry = self._connection, entry
        conn.execute(CREATE)
        row = conn.execute(for_duckdb(APPENDED), entry.identity()).fetchone()
        if entry.skip(int(row[0]) if row else 0):
            self.echo(
                f"s3://{entry.bucket}/{entry.key} version {entry.version} was already appended "
                f"to {entry.table} in {self.label}: skipped (--force appends it again)"
            )
            return False
        return True

    def _merge(self) -> None:
        names = [quoted(c.name) for c in self.table.columns]
        keys = [quoted(k) for k in self.table.primary_key]
        others = [n for n in names if n not in keys]
        action = "DO NOTHING"
        if others:
            sets = ", ".join(f"{n} = EXCLUDED.{n}" for n in others)
            old = ", ".join(f"t.{n}" for n in others)
            new = ", ".join(f"EXCLUDED.{n}" for n in others)
            action = f"DO UPDATE SET {sets} WHERE ({old}) IS DISTINCT FROM ({new})"
        staging = quoted(self.table.name + STAGING_SUFFIX)
        row = self._connection.execute(
            f"INSERT INTO {quoted(self.table.name)} AS t SELECT * FROM {staging} "
            f"ON CONFLICT ({', '.join(keys)}) {action}"
        ).fetchone()
        changed = int(row[0]) if row else 0
        self.echo(f"upsert: {changed} rows inserted or changed, {self._staged - changed} unchanged")

    def _table_ddl(self) -> str:
        pk = self.table.primary_key
        keys = f", PRIMARY KEY ({', '.join(map(quoted, pk))})" if pk else ""
        return column_list(self.table, str) + keys

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except duckdb.Error as exc:
            reason = " ".join(str(exc).split())
            if isinstance(exc, duckdb.ConstraintException) and "duplicate key" in reason:
                where = "the file or the table" if self.table.mode == "append" else "the file"
                reason = f"duplicate primary key in {where}: {reason}"
            raise TargetError(f"{self.label}: {doing} failed: {reason}") from exc


def _connect(path: str) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            return duckdb.connect(path)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
