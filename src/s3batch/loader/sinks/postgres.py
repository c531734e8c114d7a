"""PostgreSQL sink: replace a table's rows in one transaction, streaming them with COPY.

Everything happens in one transaction, so on any error the table keeps its previous
rows, and a reader sees either the old rows or the new ones, never an empty or half-full
table:

1. ``open``: create the table from its definition if it is missing; otherwise check its
   columns (names, order, types, NOT NULL, primary key) against the definition and stop
   with :class:`~s3batch.loader.errors.SchemaMismatch` if they disagree.
2. ``stage``: create ``<table>__s3batch_new`` from the definition (no indexes),
   ``COPY ... FROM STDIN (FORMAT csv, ..., FREEZE)`` the spool into it, with the CSV
   options of the spool's dialect (an unchecked spool is the object itself: the server
   parses and converts every value, and a value it refuses raises
   :class:`~s3batch.loader.errors.RowsRefused`), add the primary key (built by sorting,
   after the COPY; a duplicate key fails here). No ``ANALYZE``, as ``psql \\copy`` does
   none: building the key records the row and page counts for the planner, and
   autovacuum gathers column statistics within a minute or so (the COPY's rows count as
   changes). The live table is not locked yet: readers keep reading the old rows meanwhile.
3. ``swap``, one of two ways:

   * **swap** (the usual case): rename the table to ``<table>__s3batch_old``, rename
     the staging table to the table's name, drop the old table and give the primary
     key its usual name.
   * **refill**, when the table carries anything a swap would lose: dependent views or
     rules, foreign keys referring to it, triggers, indexes beyond its primary key,
     defaults or owned sequences, check constraints, policies, grants (table or column),
     comments, storage options, inheritance or partitions, publication membership, or an
     owner the loader's user is not a member of. Then ``TRUNCATE`` the table and
     ``INSERT INTO ... SELECT`` from the staging table, which keeps all of those. A
     foreign key referring to the table makes TRUNCATE fail: the load then fails and the
     table is unchanged.

   Both take an ACCESS EXCLUSIVE lock on the table, held until commit: a reader arriving
   then waits for the commit and reads the new rows.
4. ``commit``; on any error ``close`` rolls back.

``append`` copies straight into the table (readers see the rows at commit), after
checking the ledger; ``upsert`` copies into a temporary staging table, adds its primary
key, then in one statement inserts the staged rows that are new or differ from the
table's (one hash join), with ``ON CONFLICT (pk) DO UPDATE ... WHERE (row) IS DISTINCT
FROM (EXCLUDED row)``, so an unchanged row is not rewritten (its ``xmin`` stays). Every
mode records the load in the ledger (:mod:`s3batch.loader.ledger`) in the same transaction.

Two loads of the same table are serialized by a transaction-level advisory lock: the
second waits for the first to commit, then replaces its rows.

User names and passwords never appear in messages: driver errors are scrubbed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import TupleRow

from s3batch.loader.connections import PostgresTarget, scrub
from s3batch.loader.errors import DuplicateKey, RowsRefused, TargetError
from s3batch.loader.ledger import APPENDED, CREATE, INSERT, LEDGER_TABLE, LedgerEntry
from s3batch.loader.sinks import Echo
from s3batch.loader.sinks.schema import (
    column_list,
    differences,
    literal,
    mismatch,
    quoted,
)
from s3batch.loader.spool import Spool
from s3batch.loader.tables import SqlType, TableDef

#: Suffixes of the staging table and of the replaced table during a swap.
STAGING_SUFFIX, OLD_SUFFIX = "__s3batch_new", "__s3batch_old"
#: PostgreSQL error code for a unique violation.
UNIQUE_VIOLATION = "23505"
#: Error codes for a value the server cannot read: any data exception, a NULL in a NOT NULL column.
DATA_EXCEPTION, NOT_NULL_VIOLATION = "22", "23502"
#: ``backend_flush_after`` while a replace writes its new table: the most PostgreSQL takes.
FLUSH_AFTER = "2MB"

#: Catalog spelling of each type (``format_type``).
_CATALOG = {"varchar": "character varying", "timestamp": "timestamp without time zone"}

_LOCK = "SELECT pg_advisory_xact_lock(hashtext(%s))"
# One row: the current schema, whether the ledger is missing, then the table's schema, kind
# and primary key's name (NULLs when the table is missing).
_FIND_TABLE = """
SELECT current_schema(), to_regclass(%s) IS NULL, n.nspname, c.relkind, con.conname
FROM (VALUES (to_regclass(%s))) AS r(oid)
LEFT JOIN pg_class c ON c.oid = r.oid
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_constraint con ON con.conrelid = c.oid AND con.contype = 'p'
"""
_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_attribute a
WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
_PRIMARY_KEY = """
SELECT a.attname
FROM pg_constraint con
CROSS JOIN unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
WHERE con.conrelid = to_regclass(%s) AND con.contype = 'p'
ORDER BY k.ord
"""
# True when nothing is attached to the table that a rename-and-drop swap would lose.
_SWAPPABLE = """
SELECT c.relkind = 'r'
   AND c.relacl IS NULL
   AND c.reloptions IS NULL
   AND pg_has_role(c.relowner, 'USAGE')
   AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                   WHERE a.attrelid = c.oid AND a.attnum > 0 AND a.attacl IS NOT NULL)
   AND NOT EXISTS (SELECT 1 FROM pg_description d
                   WHERE d.objoid = c.oid AND d.classoid = 'pg_class'::regclass)
   AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE c.oid IN (i.inhrelid, i.inhparent))
   AND NOT EXISTS (
       SELECT 1 FROM pg_depend d
       WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid
         AND d.classid <> 'pg_type'::regclass
         AND NOT (d.classid = 'pg_constraint'::regclass AND d.objid IN (
                  SELECT oid FROM pg_constraint WHERE conrelid = c.oid AND contype IN ('p', 'n'))))
FROM pg_class c
WHERE c.oid = to_regclass(%s)
"""

_TABLE_QUERIES = (_COLUMNS, _PRIMARY_KEY, _SWAPPABLE)


def catalog_type(sql_type: SqlType) -> str:
    """A type as PostgreSQL's ``format_type`` spells it, e.g. ``character varying(10)``."""
    text = str(sql_type)
    if sql_type.name == "numeric":
        return f"numeric({sql_type.precision},{sql_type.scale})"
    name = _CATALOG.get(sql_type.name)
    return text.replace(sql_type.name, name, 1) if name else text


class PostgresSink:
    """Loads one table of one PostgreSQL database (see the module docstring)."""

    streams = True

    def __init__(self, target: PostgresTarget, table: TableDef, echo: Echo) -> None:
        self.target, self.table, self.echo = target, table, echo
        self.label = target.label
        self._conn: psycopg.Connection[TupleRow] | None = None
        self._schema = "public"
        self._pk_name = f"{table.name}_pkey"
        self._swappable = True
        self._ledger_missing = False
        self._staged = 0

    def open(self, entry: LedgerEntry) -> bool:
        """Connect, begin, create or check the table; False if the ledger has this append."""
        t = self.target
        self.echo(f"Connecting to postgres db {t.dbname} on port {t.port}")
        with self._errors("connecting"):
            self._conn = psycopg.connect(**t.connect_params())
        with self._errors(f"checking table {self.table.name}"):
            self._prepare_table()
            return self._check_ledger(entry)

    def stage(self, spool: Spool) -> int:
        """COPY the spool into the staging table (into the table itself when appending)."""
        mode = self.table.mode
        self.echo(f"loading rows into {self.table.name} ({mode})")
        doing = f"copying rows into {self.table.name}"
        with self._errors(doing):
            cur = self._connection.cursor()
            into = self._create_staging(cur) if mode != "append" else self._name()
        with self._errors(doing, refusable=not spool.checked):
            # FREEZE: the staging table is new in this transaction, so its rows need no
            # visibility check (and no later vacuum to set hint bits).
            with cur.copy(f"COPY {into} FROM STDIN ({self._copy_options(spool)})") as copy:
                for chunk in spool.chunks():
                    copy.write(chunk)
        self._staged = cur.rowcount
        self.echo(f"COPY {cur.rowcount}")
        with self._errors(doing):
            if mode != "append" and self.table.primary_key:
                # Built after the COPY, by sorting: much faster than one index entry per row.
                keys = ", ".join(map(quoted, self.table.primary_key))
                cur.execute(
                    f"ALTER TABLE {into} ADD CONSTRAINT {self._staging_pk} PRIMARY KEY ({keys})"
                )
        return self._staged

    def _copy_options(self, spool: Spool) -> str:
        d = spool.dialect
        options = f"FORMAT csv, DELIMITER {literal(d.delimiter)}, QUOTE {literal(d.quote)}"
        if d.quoted_null:
            options += f", FORCE_NULL ({', '.join(quoted(c.name) for c in self.table.columns)})"
        return options + (", FREEZE" if self.table.mode != "append" else "")

    def swap(self, entry: LedgerEntry) -> int:
        """Apply the staged rows as the mode says and record ``entry`` in the ledger; the row count."""
        mode = self.table.mode
        with self._errors(f"{mode} into {self.table.name}"):
            if mode == "upsert":
                self._merge()
            with self._connection.pipeline():  # the statements below in one round trip
                if mode == "replace":
                    done = self._rename_swap() if self._swappable else self._refill()
                self._connection.execute(INSERT, entry.values())
            count = self._staged  # a replaced table holds exactly the staged rows
            if mode == "replace":
                self.echo(done)
            else:
                (count,) = self._fetchone(f"SELECT count(*) FROM {self._name()}")
        self.echo(f"{self.table.name} now has {count} rows in {self.label}")
        return int(count)

    def commit(self) -> None:
        """Commit: readers now see the new rows."""
        with self._errors("committing"):
            self._connection.commit()

    def close(self) -> None:
        """Roll back anything uncommitted and disconnect."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.rollback()
        except psycopg.Error:
            pass  # the connection is broken: the server rolls back on its own
        finally:
            conn.close()

    @property
    def _staging_pk(self) -> str:
        return quoted(self.table.name + STAGING_SUFFIX + "_pkey")

    @property
    def _connection(self) -> psycopg.Connection[TupleRow]:
        if self._conn is None:
            raise TargetError(f"{self.label}: not connected")
        return self._conn

    def _name(self, suffix: str = "") -> str:
        return f"{quoted(self._schema)}.{quoted(self.table.name + suffix)}"

    def _fetchone(self, query: str, *params: object) -> TupleRow:
        return self._one(self._connection.execute(query, params), query.split()[0])

    def _one(self, cur: psycopg.Cursor[TupleRow], query: str) -> TupleRow:
        row = cur.fetchone()
        if row is None:
            raise TargetError(f"{self.label}: {query} returned no row")
        return row

    def _prepare_table(self) -> None:
        conn, name = self._connection, quoted(self.table.name)
        # One round trip. The lock comes first: two loads of one table (two uploads in a
        # row) run one after the other, and the queries after it see what the first left.
        with conn.pipeline():
            conn.execute(_LOCK, [f"s3batch-load:{self.table.name}"])
            find = conn.execute(_FIND_TABLE, [LEDGER_TABLE, name])
            columns, pk, swappable = [conn.execute(q, [name]) for q in _TABLE_QUERIES]
        current, self._ledger_missing, schema, relkind, pk_name = self._one(find, "SELECT")
        if relkind is None:
            self._schema = str(current)
            conn.execute(f"CREATE TABLE {self._name()} ({self._table_ddl()})")
            self.echo(f"CREATE TABLE {self.table.name}")
            return
        self._schema, self._pk_name = str(schema), str(pk_name or self._pk_name)
        if relkind not in ("r", "p"):
            raise mismatch(
                self.label, self.table, [f"{self.table.name} is not a table (relkind {relkind})"]
            )
        found = [(str(n), str(t), bool(nn)) for n, t, nn in columns]
        problems = differences(self.table, found, [str(n) for (n,) in pk], catalog_type)
        if problems:
            raise mismatch(self.label, self.table, problems)
        self._swappable = bool(self._one(swappable, "SELECT")[0])
        self.echo(f"table {self.table.name} exists in schema {self._schema}")

    def _check_ledger(self, entry: LedgerEntry) -> bool:
        conn = self._connection
        if self._ledger_missing:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('s3batch-ledger'))")
            conn.execute(CREATE)
        (appended,) = self._fetchone(APPENDED, *entry.identity())
        if entry.skip(int(appended)):
            self.echo(entry.repeat_note(self.label))
            return False
        return True

    def _create_staging(self, cur: psycopg.Cursor[TupleRow]) -> str:
        columns = column_list(self.table, catalog_type)
        if self.table.mode == "replace":
            # The new table's pages are handed to the disk as they are written instead of
            # all at commit, which (at wal_level=minimal: no WAL for a table created in the
            # transaction) fsyncs its files and would otherwise wait for every page.
            cur.execute(f"SET LOCAL backend_flush_after = {literal(FLUSH_AFTER)}")
            cur.execute(f"CREATE TABLE {self._name(STAGING_SUFFIX)} ({columns})")
            return self._name(STAGING_SUFFIX)
        # upsert: a temporary table (no WAL); its key is added after the COPY.
        name = quoted(self.table.name + STAGING_SUFFIX)
        cur.execute(f"CREATE TEMPORARY TABLE {name} ({columns}) ON COMMIT DROP")
        return name

    def _merge(self) -> None:
        # One statement, one hash join: only new and changed rows reach the INSERT, and
        # ON CONFLICT turns the changed ones (and keys another writer adds meanwhile) into
        # updates. xmax is 0 in a row the INSERT created, set in one it updated.
        keys = [quoted(k) for k in self.table.primary_key]
        others = [quoted(c.name) for c in self.table.columns if not c.primary_key]
        staging = quoted(self.table.name + STAGING_SUFFIX)
        differs, action = f"o.{keys[0]} IS NULL", "DO NOTHING"
        if others:
            old, new = _row("o", others), _row("s", others)
            differs += f" OR {old} IS DISTINCT FROM {new}"
            sets = ", ".join(f"{n} = EXCLUDED.{n}" for n in others)
            action = f"DO UPDATE SET {sets} WHERE {_row('t', others)} IS DISTINCT FROM {_row('EXCLUDED', others)}"
        on = " AND ".join(f"o.{k} = s.{k}" for k in keys)
        inserted, updated = self._fetchone(
            f"WITH merged AS (INSERT INTO {self._name()} AS t SELECT s.* FROM {staging} AS s "
            f"LEFT JOIN {self._name()} AS o ON {on} WHERE {differs} "
            f"ON CONFLICT ({', '.join(keys)}) {action} RETURNING t.xmax = 0 AS inserted) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) "
            "FROM merged"
        )
        unchanged = self._staged - inserted - updated
        self.echo(f"upsert: {inserted} rows inserted, {updated} changed, {unchanged} unchanged")

    def _table_ddl(self) -> str:
        pk = self.table.primary_key
        keys = f", PRIMARY KEY ({', '.join(map(quoted, pk))})" if pk else ""
        return column_list(self.table, catalog_type) + keys

    def _rename_swap(self) -> str:
        conn, name = self._connection, self.table.name
        conn.execute(f"ALTER TABLE {self._name()} RENAME TO {quoted(name + OLD_SUFFIX)}")
        conn.execute(f"ALTER TABLE {self._name(STAGING_SUFFIX)} RENAME TO {quoted(name)}")
        conn.execute(f"DROP TABLE {self._name(OLD_SUFFIX)}")
        if self.table.primary_key:
            conn.execute(
                f"ALTER TABLE {self._name()} RENAME CONSTRAINT {self._staging_pk} TO {quoted(self._pk_name)}"
            )
        return f"swapped the new rows into {name}"

    def _refill(self) -> str:
        conn = self._connection
        conn.execute(f"TRUNCATE TABLE {self._name()}")
        conn.execute(f"INSERT INTO {self._name()} SELECT * FROM {self._name(STAGING_SUFFIX)}")
        conn.execute(f"DROP TABLE {self._name(STAGING_SUFFIX)}")
        return f"TRUNCATE TABLE and INSERT into {self.table.name} (it has dependent objects, kept in place)"

    @contextmanager
    def _errors(self, doing: str, refusable: bool = False) -> Iterator[None]:
        """Turn driver errors into TargetError, with user name and password scrubbed.

        With ``refusable``, a value the server cannot read raises RowsRefused instead.
        """
        try:
            yield
        except psycopg.Error as exc:
            # ``from None``: the driver's exception text can carry the login; it must not
            # reach the job log through the printed cause chain.
            error = RowsRefused if refusable and _refused(exc) else TargetError
            if exc.sqlstate == UNIQUE_VIOLATION:
                error = DuplicateKey
            raise error(f"{self.label}: {doing} failed: {self._reason(exc)}") from None

    def _reason(self, exc: psycopg.Error) -> str:
        diag = exc.diag
        if exc.sqlstate == UNIQUE_VIOLATION:
            where = DuplicateKey.scope(self.table.mode)
            text = f"duplicate primary key in {where}: {diag.message_detail or exc}"
        else:
            text = str(exc)
        return scrub(" ".join(text.split()), self.target.hidden())


def _refused(exc: psycopg.Error) -> bool:
    """Whether the server refused a value of the file (not the connection, a key, ...)."""
    code = exc.sqlstate or ""
    return code.startswith(DATA_EXCEPTION) or code == NOT_NULL_VIOLATION


def _row(alias: str, columns: list[str]) -> str:
    return f"ROW({', '.join(f'{alias}.{c}' for c in columns)})"
