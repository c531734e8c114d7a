"""Read a target's load ledger back: what was loaded, when, by which job (newest first).

The dashboard's Loads page and ``s3batch backfill`` read the ledger through
:func:`read_history`. It only reads: DuckDB and SQLite files are opened read-only, and a
target whose ledger table (or file) does not exist yet has an empty history. Redshift
cannot be reached from here, so reading its ledger is refused with a clear error.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from s3batch.loader.connections import (
    DuckDBTarget,
    PostgresTarget,
    RedshiftTarget,
    SqliteTarget,
    Target,
    scrub,
)
from s3batch.loader.errors import LoadConfigError, LoaderError
from s3batch.loader.ledger import LEDGER_TABLE, LedgerEntry, for_duckdb, history_query

#: An object version in a table: (bucket, key, version, table), as ``LedgerEntry.identity``.
Version = tuple[str, str, str, str]

_PG_EXISTS = "SELECT to_regclass(%s) IS NOT NULL"
_DUCKDB_EXISTS = """
SELECT count(*) FROM information_schema.tables
WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_name = ?
"""
_SQLITE_EXISTS = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"


def read_history(
    target: Target, *, table: str | None = None, limit: int | None = None, lock_wait: float = 0.0
) -> list[LedgerEntry]:
    """The ledger of ``target``, newest first: of ``table`` only if given, at most ``limit`` rows.

    ``lock_wait`` is how many seconds to wait for a DuckDB file that a running load holds.

    Raises:
        LoaderError: the target cannot be read (unreachable, or its DuckDB file is locked).
        LoadConfigError: the target is Redshift, or ``limit`` is negative.
    """
    if limit is not None and limit < 0:
        raise LoadConfigError(f"limit must be 0 or more, not {limit}")
    query = history_query(table=table is not None, limit=limit)
    params = () if table is None else (table,)
    if isinstance(target, PostgresTarget):
        return _postgres(target, query, params)
    if isinstance(target, DuckDBTarget):
        return _duckdb(target, for_duckdb(query), params, lock_wait)
    if isinstance(target, SqliteTarget):
        return _sqlite(target, for_duckdb(query), params)
    if isinstance(target, RedshiftTarget):
        raise LoadConfigError(
            f"{target.label}: reading the ledger of a Redshift target is not supported locally "
            f"(query {LEDGER_TABLE} in Redshift itself)"
        )
    raise LoadConfigError(f"cannot read the ledger of {target!r}")


def loaded_versions(
    target: Target, *, table: str | None = None, lock_wait: float = 0.0
) -> set[Version]:
    """The (bucket, key, version, table) of every load in ``target``'s ledger (see read_history)."""
    return {e.identity() for e in read_history(target, table=table, lock_wait=lock_wait)}


def _entries(rows: Sequence[Sequence[Any]]) -> list[LedgerEntry]:
    return [LedgerEntry.from_row(row) for row in rows]


def _postgres(target: PostgresTarget, query: str, params: tuple[str, ...]) -> list[LedgerEntry]:
    import psycopg

    try:
        with psycopg.connect(**target.connect_params()) as conn:
            found = conn.execute(_PG_EXISTS, (LEDGER_TABLE,)).fetchone()
            if not (found and found[0]):
                return []
            return _entries(conn.execute(query, params).fetchall())
    except psycopg.Error as exc:
        # ``from None``: the driver's text can carry the login (it is scrubbed here).
        reason = scrub(" ".join(str(exc).split()), target.hidden())
        raise LoaderError(f"{target.label}: reading {LEDGER_TABLE} failed: {reason}") from None


def _duckdb(
    target: DuckDBTarget, query: str, params: tuple[str, ...], lock_wait: float
) -> list[LedgerEntry]:
    import duckdb

    from s3batch.loader.sinks.duckdb import connect

    if not os.path.exists(target.path):
        return []
    try:
        conn = connect(target.path, read_only=True, wait=lock_wait)
    except duckdb.Error as exc:
        if "lock" in str(exc).lower():
            raise LoaderError(
                f"{target.label} is locked by another process (a load is probably running): "
                "try again when it has finished"
            ) from exc
        raise LoaderError(f"{target.label}: opening the file failed: {exc}") from exc
    try:
        found = conn.execute(_DUCKDB_EXISTS, [LEDGER_TABLE]).fetchone()
        if not (found and found[0]):
            return []
        return _entries(conn.execute(query, list(params)).fetchall())
    except duckdb.Error as exc:
        raise LoaderError(f"{target.label}: reading {LEDGER_TABLE} failed: {exc}") from exc
    finally:
        conn.close()


def _sqlite(target: SqliteTarget, query: str, params: tuple[str, ...]) -> list[LedgerEntry]:
    if not os.path.exists(target.path):
        return []
    uri = f"file:{quote(str(Path(target.path).resolve()))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise LoaderError(f"{target.label}: opening the file failed: {exc}") from exc
    try:
        found = conn.execute(_SQLITE_EXISTS, (LEDGER_TABLE,)).fetchone()
        if not (found and found[0]):
            return []
        return _entries(conn.execute(query, params).fetchall())
    except sqlite3.Error as exc:
        raise LoaderError(f"{target.label}: reading {LEDGER_TABLE} failed: {exc}") from exc
    finally:
        conn.close()
