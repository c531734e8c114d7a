"""PostgreSQL sink: replace a table's rows in one transaction, streaming them with COPY.

Everything happens in one transaction, so on any error the table keeps its previous
rows, and a reader sees either the old rows or the new ones, never an empty or half-full
table:

1. ``open``: create the table from its definition if it is missing; otherwise check its
   columns (names, order, types, NOT NULL, primary key) against the definition and stop
   with :class:`~s3batch.loader.errors.SchemaMismatch` if they disagree.
2. ``stage``: create ``<table>__s3batch_new`` from the definition (no indexes),
   ``COPY ... FROM STDIN (FORMAT csv)`` the spool into it, add the primary key (a
   duplicate key fails here) and ``ANALYZE`` it. The live table is not locked yet:
   readers keep reading the old rows meanwhile.
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
checking the ledger; ``upsert`` copies into a temporary staging table with the primary
key, then ``INSERT ... ON CONFLICT (pk) DO UPDATE ... WHERE (row) IS DISTINCT FROM
(EXCLUDED row)``, so an unchanged row is not rewritten (its ``xmin`` stays). Every mode
records the load in the ledger (:mod:`s3batch.loader.ledger`) in the same transaction.

Two loads of the same table are serialized by a transaction-level advisory lock: the
second waits for the first to commit, then replaces its rows.

User names and passwords never appear in messages: driver errors are scrubbed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from s3batch.loader.connections import PostgresTarget, scrub
from s3batch.loader.errors import TargetError
from s3batch.loader.ledger import APPENDED, CREATE, INSERT, LEDGER_TABLE, LedgerEntry
from s3batch.loader.sinks import Echo
from s3batch.loader.sinks.schema import column_list, differences, mismatch, quoted
from s3batch.loader.spool import Spool
from s3batch.loader.tables import SqlType, TableDef

#: Suffixes of the staging table and of the replaced table during a swap.
STAGING_SUFFIX, OLD_SUFFIX = "__s3batch_new", "__s3batch_old"
#: Seconds to wait for the server to accept a connection.
CONNECT_TIMEOUT = 10
#: PostgreSQL error code for a unique violation.
UNIQUE_VIOLATION = "23505"

#: Catalog spelling of each type (``format_type``).
_CATALOG = {"varchar": "character varying", "timestamp": "timestamp without time zone"}

_FIND_TABLE = """
SELECT n.nspname, c.oid, c.relkind, con.conname
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_constraint con ON con.conrelid = c.oid AND con.contype = 'p'
WHERE c.oid = to_regclass(%s)
"""
_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_attribute a
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
_PRIMARY_KEY = """
SELECT a.attname
FROM pg_constraint con
CROSS JOIN unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
WHERE con.conrelid = %s AND con.contype = 'p'
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
WHERE c.oid = %s
"""


def catalog_type(sql_type: SqlType) -> str:
    """A type as PostgreSQL's ``format_type`` spells it, e.g. ``character varying(10)``."""
    text = str(sql_type)
    if sql_type.name == "numeric":
        return f"numeric({sql_type.precision},{sql_type.scale})"
    name = _CATALOG.get(sql_type.name)
    return text.replace(sql_type.name, name, 1) if name else text


class PostgresSink:
    """Loads one table of one PostgreSQL database (see the module docstring)."""

    def __init__(self, target: PostgresTarget, table: TableDef, echo: Echo) -> None:
        self.target, self.table, self.echo = target, table, echo
        self.label = target.label
        self._conn: psycopg.Connection[TupleRow] | None = None
        self._schema = "public"
        self._pk_name = f"{table.name}_pkey"
        self._swappable = True
        self._entry: LedgerEntry | None = None
        self._staged = 0

    def open(self, entry: LedgerEntry) -> bool:
        """Connect, begin, create or check the table; False if the ledger has this append."""
        t = self.target
        self.echo(f"Connecting to postgres db {t.dbname} on port {t.port}")
        params: dict[str, Any] = {
            "host": t.host, "port": t.port, "dbname": t.dbname, "user": t.username,
            "password": t.password, "connect_timeout": CONNECT_TIMEOUT,
            "application_name": "s3batch-loader", "client_encoding": "UTF8",
        }  # fmt: skip
        if t.sslmode:
            params["sslmode"] = t.sslmode
        with self._errors("connecting"):
            self._conn = psycopg.connect(**params)
        with self._errors(f"checking table {self.table.name}"):
            self._prepare_table()
            return self._check_ledger(entry)

    def stage(self, spool: Spool) -> int:
        """COPY the spool into the staging table (into the table itself when appending)."""
        mode = self.table.mode
        self.echo(f"loading {spool.rows} rows into {self.table.name} ({mode})")
        with self._errors(f"copying rows into {self.table.name}"):
            cur = self._connection.cursor()
            into = self._create_staging(cur) if mode != "append" else self._name()
            with cur.copy(f"COPY {into} FROM STDIN (FORMAT csv)") as copy:
                for chunk in spool.chunks():
                    copy.write(chunk)
            self._staged = cur.rowcount
            self.echo(f"COPY {cur.rowcount}")
            if mode == "replace" and self.table.primary_key:
                keys = ", ".join(map(quoted, self.table.primary_key))
                cur.execute(
                    f"ALTER TABLE {into} ADD CONSTRAINT {self._staging_pk} PRIMARY KEY ({keys})"
                )
            if mode != "append":
                cur.execute(f"ANALYZE {into}")
            return self._staged

    def swap(self) -> int:
        """Apply the staged rows as the mode says and record the ledger row; the row count."""
        with self._errors(f"{self.table.mode} into {self.table.name}"):
            if self.table.mode == "upsert":
                self._merge()
            elif self.table.mode == "replace" and self._swappable:
                self._rename_swap()
            elif self.table.mode == "replace":
                self._refill()
            if self._entry is not None:
                self._connection.execute(INSERT, self._entry.values())
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
        row = self._connection.execute(query, params).fetchone()
        if row is None:
            raise TargetError(f"{self.label}: {query.split()[0]} returned no row")
        return row

    def _prepare_table(self) -> None:
        conn = self._connection
        # Two loads of one table (two uploads in a row) run one after the other.
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"s3batch-load:{self.table.name}"]
        )
        found = conn.execute(_FIND_TABLE, [quoted(self.table.name)]).fetchone()
        if found is None:
            self._schema = str(self._fetchone("SELECT current_schema()")[0])
            conn.execute(f"CREATE TABLE {self._name()} ({self._table_ddl()})")
            self.echo(f"CREATE TABLE {self.table.name}")
            return
        schema, oid, relkind, pk_name = found
        self._schema, self._pk_name = str(schema), str(pk_name or self._pk_name)
        if relkind not in ("r", "p"):
            raise mismatch(
                self.label, self.table, [f"{self.table.name} is not a table (relkind {relkind})"]
            )
        columns = [(str(n), str(t), bool(nn)) for n, t, nn in conn.execute(_COLUMNS, [oid])]
        pk = [str(n) for (n,) in conn.execute(_PRIMARY_KEY, [oid])]
        problems = differences(self.table, columns, pk, catalog_type)
        if problems:
            raise mismatch(self.label, self.table, problems)
        self._swappable = bool(self._fetchone(_SWAPPABLE, oid)[0])
        self.echo(f"table {self.table.name} exists in schema {self._schema}")

    def _check_ledger(self, entry: LedgerEntry) -> bool:
        conn = self._connection
        self._entry = entry
        if self._fetchone("SELECT to_regclass(%s) IS NULL", LEDGER_TABLE)[0]:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('s3batch-ledger'))")
            conn.execute(CREATE)
        (appended,) = self._fetchone(APPENDED, *entry.identity())
        if entry.skip(int(appended)):
            self.echo(
                f"s3://{entry.bucket}/{entry.key} version {entry.version} was already appended "
                f"to {entry.table} in {self.label}: skipped (--force appends it again)"
            )
            return False
        return True

    def _create_staging(self, cur: psycopg.Cursor[TupleRow]) -> str:
        columns = column_list(self.table, catalog_type)
        if self.table.mode == "replace":
            cur.execute(f"CREATE TABLE {self._name(STAGING_SUFFIX)} ({columns})")
            return self._name(STAGING_SUFFIX)
        # upsert: a temporary table (no WAL), with the key so duplicates in the file fail.
        name = quoted(self.table.name + STAGING_SUFFIX)
        keys = ", ".join(map(quoted, self.table.primary_key))
        cur.execute(
            f"CREATE TEMPORARY TABLE {name} ({columns}, PRIMARY KEY ({keys})) ON COMMIT DROP"
        )
        return name

    def _merge(self) -> None:
        # Two set-based statements (hash joins) instead of one ON CONFLICT probe per row:
        # several times faster when most rows exist. The INSERT keeps ON CONFLICT for keys
        # another writer adds meanwhile.
        conn, names = self._connection, [quoted(c.name) for c in self.table.columns]
        keys = [quoted(k) for k in self.table.primary_key]
        others = [n for n in names if n not in keys]
        staging, table = quoted(self.table.name + STAGING_SUFFIX), self._name()
        on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        action, updated = "DO NOTHING", 0
        if others:
            old = ", ".join(f"t.{n}" for n in others)
            differ = f"ROW({old}) IS DISTINCT FROM ROW({', '.join(f's.{n}' for n in others)})"
            sets = ", ".join(f"{n} = s.{n}" for n in others)
            cur = conn.execute(
                f"UPDATE {table} AS t SET {sets} FROM {staging} AS s WHERE {on} AND {differ}"
            )
            updated = max(cur.rowcount, 0)
            excluded = ", ".join(f"EXCLUDED.{n}" for n in others)
            action = (
                f"DO UPDATE SET {', '.join(f'{n} = EXCLUDED.{n}' for n in others)} "
                f"WHERE ROW({old}) IS DISTINCT FROM ROW({excluded})"
            )
        cur = conn.execute(
            f"INSERT INTO {table} AS t SELECT s.* FROM {staging} AS s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {on}) "
            f"ON CONFLICT ({', '.join(keys)}) {action}"
        )
        inserted = max(cur.rowcount, 0)
        unchanged = self._staged - updated - inserted
        self.echo(f"upsert: {inserted} rows inserted, {updated} changed, {unchanged} unchanged")

    def _table_ddl(self) -> str:
        pk = self.table.primary_key
        keys = f", PRIMARY KEY ({', '.join(map(quoted, pk))})" if pk else ""
        return column_list(self.table, catalog_type) + keys

    def _rename_swap(self) -> None:
        conn, name = self._connection, self.table.name
        conn.execute(f"ALTER TABLE {self._name()} RENAME TO {quoted(name + OLD_SUFFIX)}")
        conn.execute(f"ALTER TABLE {self._name(STAGING_SUFFIX)} RENAME TO {quoted(name)}")
        conn.execute(f"DROP TABLE {self._name(OLD_SUFFIX)}")
        if self.table.primary_key:
            conn.execute(
                f"ALTER TABLE {self._name()} RENAME CONSTRAINT {self._staging_pk} TO {quoted(self._pk_name)}"
            )
        self.echo(f"swapped the new rows into {name}")

    def _refill(self) -> None:
        conn = self._connection
        conn.execute(f"TRUNCATE TABLE {self._name()}")
        conn.execute(f"INSERT INTO {self._name()} SELECT * FROM {self._name(STAGING_SUFFIX)}")
        conn.execute(f"DROP TABLE {self._name(STAGING_SUFFIX)}")
        self.echo(
            f"TRUNCATE TABLE and INSERT into {self.table.name} (it has dependent objects, kept in place)"
        )

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn driver errors into TargetError, with user name and password scrubbed."""
        try:
            yield
        except psycopg.Error as exc:
            # ``from None``: the driver's exception text can carry the login; it must not
            # reach the job log through the printed cause chain.
            raise TargetError(f"{self.label}: {doing} failed: {self._reason(exc)}") from None

    def _reason(self, exc: psycopg.Error) -> str:
        diag = exc.diag
        if exc.sqlstate == UNIQUE_VIOLATION:
            where = "the file or the table" if self.table.mode == "append" else "the file"
            text = f"duplicate primary key in {where}: {diag.message_detail or exc}"
        else:
            text = str(exc)
        return scrub(" ".join(text.split()), self.target.hidden())
