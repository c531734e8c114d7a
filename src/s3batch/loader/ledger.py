"""The load ledger: one row per load of an object version into a table of a target.

Every target holds its own ``s3batch_load_history`` table, written in the same
transaction as the rows it describes, so the ledger and the data never disagree. In
``append`` mode a version (bucket, key, VersionId or else ETag) already in the ledger
for the table is skipped, unless the load is forced. Query it with SQL, e.g.
``SELECT * FROM s3batch_load_history ORDER BY loaded_at DESC``.

SQL is written with ``%s`` placeholders (psycopg); :func:`for_duckdb` respells them (for
SQLite too). :mod:`s3batch.loader.history` reads the ledger back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: The ledger table's name in every target.
LEDGER_TABLE = "s3batch_load_history"

CREATE = f"""
CREATE TABLE IF NOT EXISTS {LEDGER_TABLE} (
    bucket        varchar NOT NULL,
    key           varchar NOT NULL,
    version       varchar NOT NULL,
    table_name    varchar NOT NULL,
    mode          varchar NOT NULL,
    loaded_at     timestamp NOT NULL,
    job_id        varchar,
    rows_loaded   bigint NOT NULL,
    rows_rejected bigint NOT NULL,
    forced        boolean NOT NULL
)
"""
APPENDED = f"""
SELECT count(*) FROM {LEDGER_TABLE}
WHERE bucket = %s AND key = %s AND version = %s AND table_name = %s AND mode = 'append'
"""
INSERT = f"""
INSERT INTO {LEDGER_TABLE}
    (bucket, key, version, table_name, mode, loaded_at, job_id, rows_loaded, rows_rejected, forced)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""

#: The columns of a ledger row, in :class:`LedgerEntry` field order.
COLUMNS = (
    "bucket, key, version, table_name, mode, loaded_at, job_id, rows_loaded, rows_rejected, forced"
)


def history_query(*, table: bool, limit: int | None) -> str:
    """The ledger rows, newest first: of one table (one ``%s``) if ``table``; at most ``limit``."""
    where = "WHERE table_name = %s " if table else ""
    tail = "" if limit is None else f" LIMIT {int(limit)}"
    return f"SELECT {COLUMNS} FROM {LEDGER_TABLE} {where}ORDER BY loaded_at DESC{tail}"


@dataclass(frozen=True)
class LedgerEntry:
    """What one load of one object version did (the same for every target)."""

    bucket: str
    key: str
    version: str
    table: str
    mode: str
    loaded_at: datetime
    job_id: str | None
    rows_loaded: int
    rows_rejected: int
    forced: bool = False

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> LedgerEntry:
        """The entry a ``SELECT {COLUMNS}`` row holds (SQLite gives text times and 0/1 flags)."""
        loaded_at = row[5] if isinstance(row[5], datetime) else datetime.fromisoformat(row[5])
        return cls(
            str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), loaded_at,
            None if row[6] is None else str(row[6]), int(row[7]), int(row[8]), bool(row[9]),
        )  # fmt: skip

    def identity(self) -> tuple[str, str, str, str]:
        """The parameters of :data:`APPENDED`."""
        return (self.bucket, self.key, self.version, self.table)

    def values(self) -> tuple[object, ...]:
        """The parameters of :data:`INSERT`."""
        return (
            self.bucket, self.key, self.version, self.table, self.mode, self.loaded_at,
            self.job_id, self.rows_loaded, self.rows_rejected, self.forced,
        )  # fmt: skip

    def skip(self, appended: int) -> bool:
        """Whether the load is a repeat that must not append again."""
        return self.mode == "append" and appended > 0 and not self.forced

    def repeat_note(self, label: str) -> str:
        """What the job log says when the target ``label`` already has this append."""
        return (
            f"s3://{self.bucket}/{self.key} version {self.version} was already appended "
            f"to {self.table} in {label}: skipped (--force appends it again)"
        )


def for_duckdb(query: str) -> str:
    """``query`` with DuckDB's ``?`` placeholders."""
    return query.replace("%s", "?")
