"""Redshift sink: COPY the object from S3 into a table, in one transaction (SQL in redshift_sql).

Redshift speaks PostgreSQL's protocol, so psycopg drives it. The rows are not sent from
the local spool: Redshift's COPY reads the object from S3 with the secret's IAM role,
after the loader has checked every row locally (so a bad file still changes nothing).
The table is created when missing; an existing table's columns are not compared with
the definition (Redshift's catalog spells types differently; COPY fails on a mismatch).
This sink cannot run here: its SQL is unit-tested with a recording connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from s3batch.loader.connections import RedshiftTarget, scrub
from s3batch.loader.errors import TargetError
from s3batch.loader.ledger import APPENDED, CREATE, INSERT, LedgerEntry
from s3batch.loader.sinks import Echo
from s3batch.loader.sinks import redshift_sql as sql
from s3batch.loader.sinks.schema import quoted
from s3batch.loader.spool import Spool
from s3batch.loader.tables import TableDef

#: Rows of STL_LOAD_ERRORS shown when COPY fails.
SHOW_ERRORS = 5


class Connection(Protocol):
    """The part of a DB-API connection the sink uses (psycopg's has it)."""

    def execute(self, query: str, params: Any = None) -> Any:
        """Run a statement; the cursor."""
        ...

    def commit(self) -> None:
        """Commit."""
        ...

    def rollback(self) -> None:
        """Roll back."""
        ...

    def close(self) -> None:
        """Disconnect."""
        ...


#: Opens a connection to a target (tests pass a recorder).
Connect = Callable[[RedshiftTarget], Connection]


def psycopg_connect(target: RedshiftTarget) -> Connection:
    """A psycopg connection to the cluster (TLS required, as Redshift expects)."""
    import psycopg

    conn: Connection = psycopg.connect(
        host=target.host, port=target.port, dbname=target.dbname, user=target.username,
        password=target.password, sslmode="require", application_name="s3batch-loader",
    )  # fmt: skip
    return conn


class RedshiftSink:
    """Loads one table of one Redshift database (see the module docstring)."""

    streams = False  # it reports the rows counted in the downloaded file

    def __init__(
        self,
        target: RedshiftTarget,
        table: TableDef,
        echo: Echo,
        connect: Connect = psycopg_connect,
    ) -> None:
        self.target, self.table, self.echo, self._connect = target, table, echo, connect
        self.bucket = self.key = ""
        self.label = target.label
        self._conn: Connection | None = None

    def open(self, entry: LedgerEntry) -> bool:
        """Connect, create the table and the ledger if missing; False if this append is done."""
        self.echo(f"Connecting to redshift db {self.target.dbname} on port {self.target.port}")
        self.bucket, self.key = entry.bucket, entry.key
        try:
            self._conn = self._connect(self.target)
            self._run(sql.create_table(self.table), CREATE)
            (appended,) = self._conn.execute(APPENDED, entry.identity()).fetchone()
        except Exception as exc:  # psycopg.Error; the driver is imported lazily
            raise self._error("preparing the table", exc) from None
        if entry.skip(int(appended)):
            self.echo(f"{entry.key} was already appended to {entry.table}: skipped")
            return False
        return True

    def stage(self, spool: Spool) -> int:
        """COPY the object from S3 into the staging table (the table itself when appending)."""
        mode = self.table.mode
        into = quoted(self.table.name)
        if mode != "append":
            into = quoted(self.table.name + sql.STAGING_SUFFIX)
            self._run(sql.create_staging(self.table, temporary=mode == "upsert"))
        options = sql.copy_options(
            self.table, gzip=self.key.endswith(".gz"), max_errors=self.table.max_errors
        )
        url = f"s3://{self.bucket}/{self.key}"
        statement = sql.copy(
            self.table, into, url, self.target.iam_role, self.target.region, options
        )
        try:
            self._connection.execute(statement)
        except Exception as exc:  # psycopg.Error
            raise self._copy_failed(exc) from None
        self.echo(f"COPY {spool.rows}")
        return spool.rows

    def swap(self, entry: LedgerEntry) -> int:
        """Apply the staged rows as the mode says, and write ``entry`` to the ledger."""
        mode = self.table.mode
        statements = {"replace": sql.replace, "upsert": sql.upsert}.get(mode)
        self._run(*(statements(self.table) if statements else []))
        self._run_params(INSERT, entry.values())
        (count,) = self._connection.execute(
            f"SELECT count(*) FROM {quoted(self.table.name)}"
        ).fetchone()
        self.echo(f"{self.table.name} now has {count} rows in {self.label}")
        return int(count)

    def commit(self) -> None:
        """Commit: readers now see the new rows."""
        try:
            self._connection.commit()
        except Exception as exc:  # psycopg.Error
            raise self._error("committing", exc) from None

    def close(self) -> None:
        """Roll back anything uncommitted and disconnect."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.rollback()
        except Exception:  # noqa: BLE001 - the connection is broken: the server rolls back
            pass
        finally:
            conn.close()

    @property
    def _connection(self) -> Connection:
        if self._conn is None:
            raise TargetError(f"{self.label}: not connected")
        return self._conn

    def _run(self, *statements: str) -> None:
        for statement in statements:
            try:
                self._connection.execute(statement)
            except Exception as exc:  # psycopg.Error
                raise self._error(statement.split(" (")[0], exc) from None

    def _run_params(self, statement: str, params: tuple[object, ...]) -> None:
        try:
            self._connection.execute(statement, params)
        except Exception as exc:  # psycopg.Error
            raise self._error("writing the ledger", exc) from None

    def _copy_failed(self, exc: Exception) -> TargetError:
        conn = self._connection
        conn.rollback()
        try:
            rows = conn.execute(sql.LOAD_ERRORS).fetchall()
        except Exception:  # noqa: BLE001 - the report is best effort; the COPY error stands
            rows = []
        for line, column, reason, _raw in rows[:SHOW_ERRORS]:
            self.echo(f'  STL_LOAD_ERRORS line {line}, column "{column}": {reason}')
        return self._error(f"COPY from s3://{self.bucket}/{self.key}", exc)

    def _error(self, doing: str, exc: Exception) -> TargetError:
        reason = scrub(" ".join(str(exc).split()), self.target.hidden())
        return TargetError(f"{self.label}: {doing} failed: {reason}")
