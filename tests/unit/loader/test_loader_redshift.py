"""The SQL a Redshift load runs (it cannot run here): text, order and error reporting."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from s3batch.loader.connections import RedshiftTarget, parse_target
from s3batch.loader.errors import LoadConfigError, TargetError
from s3batch.loader.ledger import LedgerEntry
from s3batch.loader.sinks import open_sink
from s3batch.loader.sinks import redshift_sql as sql
from s3batch.loader.sinks.redshift import RedshiftSink
from s3batch.loader.spool import Spool
from s3batch.loader.tables import TableDef, parse_table

SECRET = {
    "engine": "redshift",
    "host": "wh.abc.us-east-1.redshift.amazonaws.com",
    "username": "loader",
    "password": "pw-secret",
    "dbname": "dev",
    "iamRole": "arn:aws:iam::123456789012:role/RedshiftCopy",
    "region": "us-east-1",
}
TARGET = parse_target("Redshift-credentials", SECRET)
TABLE = parse_table(
    {
        "tableName": "persons",
        "columns": [
            {"name": "id", "type": "varchar(10)", "primaryKey": True},
            {"name": "email", "type": "varchar(50)", "nullable": False},
            {"name": "note", "type": "text"},
        ],
        "format": {"header": True, "null": r"\N"},
        "maxErrors": 5,
    },
    "t",
)


def entry(mode: str = "replace") -> LedgerEntry:
    return LedgerEntry(
        "landing",
        "in/persons.csv.gz",
        "etag1",
        "persons",
        mode,
        datetime(2026, 1, 1),
        "job-1",
        3,
        0,
    )


class Recorder:
    """A connection that records statements; COPY can be made to fail."""

    def __init__(self, appended: int = 0, fail_copy: bool = False) -> None:
        self.statements: list[str] = []
        self.appended, self.fail_copy = appended, fail_copy
        self._last = ""

    def execute(self, query: str, params: Any = None) -> Recorder:
        text = " ".join(query.split())
        self.statements.append(text)
        self._last = text
        if self.fail_copy and text.startswith("COPY"):
            raise RuntimeError("Load into table 'persons' failed. Check 'stl_load_errors'")
        return self

    def fetchone(self) -> tuple[object, ...]:
        return (self.appended,)

    def fetchall(self) -> list[tuple[object, ...]]:
        return [(7, "email", "Missing data for not-null field", "P7,,x")]

    def commit(self) -> None:
        self.statements.append("COMMIT")

    def rollback(self) -> None:
        self.statements.append("ROLLBACK")

    def close(self) -> None:
        pass


def run(tmp_path: Path, table: TableDef, conn: Recorder, mode: str = "replace") -> list[str]:
    table = dataclasses.replace(table, mode=mode)  # type: ignore[arg-type]
    lines: list[str] = []
    sink = RedshiftSink(TARGET, table, lines.append, connect=lambda _: conn)  # type: ignore[arg-type, return-value]
    try:
        if sink.open(entry(mode)):
            sink.stage(Spool(tmp_path / "unused", 3))
            sink.swap(entry(mode))
            sink.commit()
    finally:
        sink.close()
    return conn.statements


COPY = (
    'COPY {into} ("id", "email", "note") FROM \'s3://landing/in/persons.csv.gz\' '
    "IAM_ROLE 'arn:aws:iam::123456789012:role/RedshiftCopy' REGION 'us-east-1' "
    "FORMAT AS CSV DELIMITER ',' QUOTE AS '\"' IGNOREHEADER 1 NULL AS '\\\\N' EMPTYASNULL "
    "GZIP TIMEFORMAT 'auto' DATEFORMAT 'auto' MAXERROR 5"
)


def test_secret_selects_redshift() -> None:
    assert isinstance(TARGET, RedshiftTarget) and TARGET.port == 5439
    assert "pw-secret" not in repr(TARGET)
    assert isinstance(open_sink(TARGET, TABLE, print), RedshiftSink)
    with pytest.raises(LoadConfigError, match="'iamRole' is required"):
        parse_target("x", {**SECRET, "iamRole": None})


def test_replace(tmp_path: Path) -> None:
    statements = run(tmp_path, TABLE, Recorder())
    assert statements[0] == (
        'CREATE TABLE IF NOT EXISTS "persons" ("id" varchar(10) NOT NULL, '
        '"email" varchar(50) NOT NULL, "note" varchar(65535), PRIMARY KEY ("id"))'
    )
    assert statements[1].startswith("CREATE TABLE IF NOT EXISTS s3batch_load_history")
    assert statements[3:] == [
        'CREATE TABLE "persons__s3batch_new" ("id" varchar(10) NOT NULL, '
        '"email" varchar(50) NOT NULL, "note" varchar(65535))',
        COPY.format(into='"persons__s3batch_new"'),
        'DELETE FROM "persons"',
        'INSERT INTO "persons" SELECT * FROM "persons__s3batch_new"',
        'DROP TABLE "persons__s3batch_new"',
        statements[8],
        'SELECT count(*) FROM "persons"',
        "COMMIT",
        "ROLLBACK",
    ]
    assert statements[8].startswith("INSERT INTO s3batch_load_history")


def test_append_copies_into_the_table_once(tmp_path: Path) -> None:
    statements = run(tmp_path, TABLE, Recorder(), mode="append")
    assert COPY.format(into='"persons"') in statements
    assert not any(s.startswith('CREATE TABLE "persons__') for s in statements)
    again = run(tmp_path, TABLE, Recorder(appended=1), mode="append")
    assert not any(s.startswith("COPY") for s in again) and again[-1] == "ROLLBACK"


def test_upsert_updates_changed_rows_and_inserts_new_keys(tmp_path: Path) -> None:
    statements = run(tmp_path, TABLE, Recorder(), mode="upsert")
    assert 'CREATE TEMPORARY TABLE "persons__s3batch_new"' in statements[3]
    assert (
        'UPDATE "persons" AS t SET "email" = s."email", "note" = s."note" '
        'FROM "persons__s3batch_new" AS s WHERE t."id" = s."id" AND '
        '(NOT (t."email" = s."email" OR (t."email" IS NULL AND s."email" IS NULL)) OR '
        'NOT (t."note" = s."note" OR (t."note" IS NULL AND s."note" IS NULL)))'
    ) in statements
    assert (
        'INSERT INTO "persons" SELECT s.* FROM "persons__s3batch_new" AS s '
        'LEFT JOIN "persons" AS t ON t."id" = s."id" WHERE t."id" IS NULL'
    ) in statements


def test_copy_errors_are_read_from_stl_load_errors(tmp_path: Path) -> None:
    conn = Recorder(fail_copy=True)
    lines: list[str] = []
    sink = RedshiftSink(TARGET, TABLE, lines.append, connect=lambda _: conn)  # type: ignore[arg-type, return-value]
    sink.open(entry())
    with pytest.raises(TargetError, match="COPY from s3://landing/in/persons.csv.gz failed"):
        sink.stage(Spool(tmp_path / "unused", 3))
    sink.close()
    assert any("FROM stl_load_errors WHERE query = pg_last_copy_id()" in s for s in conn.statements)
    assert '  STL_LOAD_ERRORS line 7, column "email": Missing data for not-null field' in lines


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ({"type": "jsonl"}, "FORMAT AS JSON 'auto' TIMEFORMAT 'auto' DATEFORMAT 'auto' MAXERROR 0"),
        ({"type": "parquet"}, "FORMAT AS PARQUET"),
        (
            {"delimiter": "|", "emptyAsNull": False},
            "FORMAT AS CSV DELIMITER '|' QUOTE AS '\"' NULL AS '' "
            "TIMEFORMAT 'auto' DATEFORMAT 'auto' MAXERROR 0",
        ),
    ],
)
def test_copy_options(fmt: dict[str, object], expected: str) -> None:
    table = parse_table(
        {"tableName": "t", "columns": [{"name": "a", "type": "text"}], "format": fmt}, "t"
    )
    assert sql.copy_options(table, gzip=False, max_errors=0) == expected


def test_csv_escape_is_refused() -> None:
    table = parse_table(
        {"tableName": "t", "columns": [{"name": "a", "type": "text"}], "format": {"escape": "\\"}},
        "t",
    )
    with pytest.raises(LoadConfigError, match="no escape character"):
        sql.copy_options(table, gzip=False, max_errors=0)
