"""DuckDB sink: replace a table's rows in a DuckDB file, in one transaction.

The file is opened only for the load and closed after it, so other processes (a
dashboard, a user's ``duckdb`` shell) can open it between loads; while another process
holds it, opening is retried for up to :data:`LOCK_WAIT` seconds.

In one transaction: create the table from its definition if it is missing (or check its
columns against the definition), create ``<table>__s3batch_new``, ``COPY`` the spool
file into it, check its primary key, drop the table and rename the staging table to its
name. On any error the transaction rolls back and the table keeps its rows. DuckDB binds
views by name when they are queried, so views over the table keep working; indexes
created on the table by hand are dropped with it.

Memory stays bounded whatever the file's size: the connection's ``memory_limit`` is
:data:`MEMORY_LIMIT` (DuckDB spills to ``<file>.tmp`` beyond it), and a primary key is
checked by sorting the keys (:func:`duplicate_query`), which spills, not kept as an
index: DuckDB holds an index wholly in memory (about 130 bytes a row). So the warehouse,
like Redshift, which it stands in for, declares no primary key on the tables it creates.
A table created with one by hand or by an earlier version is accepted: ``append`` and
``upsert`` keep its key, and ``replace`` swaps in a table without it.

``append`` and ``upsert`` copy into a temporary staging table and check its keys (for
``append``, against the table's too). ``append`` then inserts the rows (once the ledger
said this version is new); ``upsert`` updates the rows whose values differ and inserts the
new ones (:func:`merge`), so unchanged rows are not rewritten. Every mode records the load
in the ledger (:mod:`s3batch.loader.ledger`) in the same transaction.
"""

from __future__ import annotations

import time

import duckdb

from s3batch.loader.errors import DuplicateKey
from s3batch.loader.ledger import INSERT, LedgerEntry, for_duckdb
from s3batch.loader.sinks.file_sink import FileSink
from s3batch.loader.sinks.schema import column_list, differences, literal, mismatch, quoted
from s3batch.loader.spool import Spool
from s3batch.loader.tables import SqlType, TableDef

#: Suffix of the staging table.
STAGING_SUFFIX = "__s3batch_new"
#: Seconds to keep retrying while another process holds the file.
LOCK_WAIT = 60.0
#: Memory DuckDB may use for a load before it spills to disk (the loader's bound is 300 MB).
MEMORY_LIMIT = "80MB"
#: Bytes the CSV reader reads at a time, per thread: its default (32 MB) would take most of
#: :data:`MEMORY_LIMIT`. At least the longest line DuckDB reads (2 MB by default).
CSV_BUFFER = 8 * 1024 * 1024
#: Threads of the key checks: DuckDB's sort and join spill within :data:`MEMORY_LIMIT` on
#: two (34M keys), and two halve the time of one; more would each want their own buffers.
KEY_CHECK_THREADS = 2
#: DuckDB's errors for a value it cannot read from a file (a fast-path spool).
_REFUSED = (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.ConstraintException)

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


class DuckDBSink(FileSink[duckdb.DuckDBPyConnection]):
    """Loads one table of one DuckDB file (see the module docstring)."""

    driver_error = duckdb.Error
    refused = _REFUSED

    def open(self, entry: LedgerEntry) -> bool:
        """Open the file, begin, create or check the table; False if the ledger has this append."""
        self.echo(f"Opening duckdb file {self.target.path}")
        with self._errors("opening the file"):
            self._conn = connect(self.target.path)
            self._conn.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
            # Without it, the CSV reader's threads leave partial row groups, which the
            # checkpoint at close rewrites (0.4 s a million rows); rows have no order anyway.
            self._conn.execute("SET preserve_insertion_order = false")
            self._conn.execute("BEGIN TRANSACTION")
        with self._errors(f"checking table {self.table.name}"):
            self._prepare_table()
            return self._check_ledger(entry)

    def stage(self, spool: Spool) -> int:
        """COPY the spool into the staging table (into the table itself when appending)."""
        mode, name = self.table.mode, quoted(self.table.name)
        self.echo(f"loading {spool.rows} rows into {self.table.name} ({mode})")
        doing = f"copying rows into {self.table.name}"
        with self._errors(doing, refusable=not spool.checked):
            conn = self._connection
            temporary = "TEMPORARY " if mode != "replace" else ""
            conn.execute(
                f"CREATE {temporary}TABLE {self._staging} ({column_list(self.table, str)})"
            )
            d = spool.dialect
            row = conn.execute(
                f"COPY {self._staging} FROM {literal(str(spool.path))} (FORMAT csv, "
                f"HEADER {d.header}, DELIMITER {literal(d.delimiter)}, QUOTE {literal(d.quote)}, "
                f"ESCAPE {literal(d.quote)}, NULL '', ALLOW_QUOTED_NULLS {d.quoted_null}, "
                f"AUTO_DETECT false, BUFFER_SIZE {CSV_BUFFER}"
                # Set, not guessed: a quoted CR in the first row would pass for a CRLF file.
                f"{f', NEW_LINE {literal(d.newline)}' if d.newline else ''})"
            ).fetchone()
        self._staged = int(row[0]) if row else 0
        self.echo(f"COPY {self._staged}")
        with self._errors(doing):
            self._check_keys(name if mode == "append" else None)
        return self._staged

    def swap(self, entry: LedgerEntry) -> int:
        """Apply the staged rows as the mode says and record ``entry`` in the ledger; the row count."""
        name = quoted(self.table.name)
        with self._errors(f"{self.table.mode} into {self.table.name}"):
            conn = self._connection
            if self.table.mode == "replace":
                conn.execute(f"DROP TABLE {name}")
                conn.execute(f"ALTER TABLE {self._staging} RENAME TO {name}")
            elif self.table.mode == "upsert":
                self._merge()
            else:
                conn.execute(f"INSERT INTO {name} SELECT * FROM {self._staging}")
            conn.execute(for_duckdb(INSERT), entry.values())
            row = (self._staged,)  # a replaced table holds exactly the staged rows
            if self.table.mode != "replace":
                row = conn.execute(f"SELECT count(*) FROM {name}").fetchone() or (0,)
        count = int(row[0])
        self.echo(f"{self.table.name} now has {count} rows in {self.label}")
        return count

    def _prepare_table(self) -> None:
        conn, name = self._connection, self.table.name
        found = [
            (str(n), str(t), bool(nn)) for n, t, nn in conn.execute(_COLUMNS, [name]).fetchall()
        ]
        if not found:
            conn.execute(f"CREATE TABLE {quoted(name)} ({column_list(self.table, str)})")
            self.echo(f"CREATE TABLE {name}")
            return
        pk_row = conn.execute(_PRIMARY_KEY, [name]).fetchone()
        # Tables the loader creates declare no key (see the module docstring).
        pk = [str(c) for c in pk_row[0]] if pk_row else list(self.table.primary_key)
        problems = differences(self.table, found, pk, catalog_type)
        if problems:
            raise mismatch(self.label, self.table, problems)
        self.echo(f"table {name} exists")

    @property
    def _staging(self) -> str:
        return quoted(self.table.name + STAGING_SUFFIX)

    def _check_keys(self, table: str | None) -> None:
        """Fail on a key twice in the staged rows, or (``table``) already in the table."""
        keys = ", ".join(map(quoted, self.table.primary_key))
        if not keys:
            return
        checks = [
            (duplicate_query(self._staging, self.table.primary_key), "the file", "is duplicated"),
        ]
        if table is not None:
            checks.append(
                (f"SELECT {keys} FROM {self._staging} SEMI JOIN {table} USING ({keys}) LIMIT 1",
                 "the file or the table", "already exists"),
            )  # fmt: skip
        self._connection.execute(f"SET threads = {KEY_CHECK_THREADS}")
        for query, where, found in checks:
            key = self._connection.execute(query).fetchone()
            if key is not None:
                raise DuplicateKey(
                    f"{self.label}: duplicate primary key in {where}: Key "
                    f"({', '.join(self.table.primary_key)})=({', '.join(map(str, key))}) {found}."
                )
        self._connection.execute("RESET threads")

    def _merge(self) -> None:
        update, insert = merge(self.table, quoted(self.table.name), self._staging)
        conn, updated = self._connection, 0
        if update:
            row = conn.execute(update).fetchone()
            updated = int(row[0]) if row else 0
        row = conn.execute(insert).fetchone()
        inserted = int(row[0]) if row else 0
        unchanged = self._staged - updated - inserted
        self.echo(f"upsert: {inserted} rows inserted, {updated} changed, {unchanged} unchanged")

    def _duplicate(self, exc: Exception, reason: str) -> bool:
        return isinstance(exc, duckdb.ConstraintException) and "duplicate key" in reason


def duplicate_query(staging: str, primary_key: tuple[str, ...]) -> str:
    """A query for one key that ``staging`` (a quoted name) holds twice; no row when none.

    The keys are sorted and each compared with the next. Grouping them would be quicker
    in memory, but DuckDB's (2.0) hash aggregate ran out of :data:`MEMORY_LIMIT` on 1.5M
    integer keys (strings it spilled); its sort spills whatever the type (34M keys of
    either, on two threads).
    Key columns are NOT NULL, so ``=`` is the whole comparison.
    """
    keys = [quoted(k) for k in primary_key]
    nexts = [quoted(f"__s3batch_next_{i}") for i in range(len(keys))]
    follow = ", ".join(f"lead({k}) OVER w AS {n}" for k, n in zip(keys, nexts, strict=True))
    same = " AND ".join(f"{k} = {n}" for k, n in zip(keys, nexts, strict=True))
    columns = ", ".join(keys)
    return (
        f"SELECT {columns} FROM (SELECT {columns}, {follow} FROM {staging} "
        f"WINDOW w AS (ORDER BY {columns})) WHERE {same} LIMIT 1"
    )


def merge(table: TableDef, target: str, staging: str) -> tuple[str | None, str]:
    """The two statements of an upsert from ``staging`` into ``target`` (quoted names).

    An UPDATE of the rows whose values differ (None when every column is in the key), then
    an INSERT of the rows whose key is new: set-based (hash joins, which spill), and
    needing no index on the target.
    """
    names = [quoted(c.name) for c in table.columns]
    keys = [quoted(k) for k in table.primary_key]
    others = [n for n in names if n not in keys]
    on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    insert = (
        f"INSERT INTO {target} AS t SELECT s.* FROM {staging} AS s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {target} AS t WHERE {on})"
    )
    if not others:
        return None, insert
    old, new = ", ".join(f"t.{n}" for n in others), ", ".join(f"s.{n}" for n in others)
    sets = ", ".join(f"{n} = s.{n}" for n in others)
    update = (
        f"UPDATE {target} AS t SET {sets} FROM {staging} AS s "
        f"WHERE {on} AND ROW({old}) IS DISTINCT FROM ROW({new})"
    )
    return update, insert


def connect(
    path: str, *, read_only: bool = False, wait: float = LOCK_WAIT
) -> duckdb.DuckDBPyConnection:
    """Open the file, retrying for ``wait`` seconds while another process holds its lock."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
