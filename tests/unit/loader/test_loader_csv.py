"""Reading CSV into checked rows, and the spool every sink reads."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from s3batch.loader.default_tables import DEFAULT_TABLES
from s3batch.loader.errors import BadRow
from s3batch.loader.readers import read_rows
from s3batch.loader.spool import Spool
from s3batch.loader.tables import parse_table

PERSONS = DEFAULT_TABLES[0]


def _rows(text: str | bytes, table=PERSONS) -> list[list[str | None]]:  # type: ignore[no-untyped-def]
    data = text.encode() if isinstance(text, str) else text
    return list(read_rows(io.BytesIO(data), table))


def _persons(n: int) -> str:
    return "".join(f"P{i},p{i}@example.com,NY,{10000 + i},{i} Main St\n" for i in range(1, n + 1))


def test_reads_rows() -> None:
    assert _rows(_persons(2)) == [
        ["P1", "p1@example.com", "NY", "10001", "1 Main St"],
        ["P2", "p2@example.com", "NY", "10002", "2 Main St"],
    ]


def test_bom_and_crlf() -> None:
    data = "\ufeff" + _persons(3).replace("\n", "\r\n")
    rows = _rows(data.encode("utf-8"))
    assert rows[0][0] == "P1" and rows[2][4] == "3 Main St"


def test_quoted_fields_keep_delimiters_quotes_and_newlines() -> None:
    rows = _rows('P1,"a,b@x",NY,1,"12 ""Elm""\r\nSt"\n')
    assert rows == [["P1", "a,b@x", "NY", "1", '12 "Elm"\r\nSt']]


def test_blank_lines_are_skipped() -> None:
    assert len(_rows("\n" + _persons(2).replace("\n", "\n\n", 1) + "\n")) == 2


def test_bad_numeric_names_line_and_column() -> None:
    lines = _persons(10).splitlines(keepends=True)
    lines[6] = "P7,p7@example.com,NY,12a45,7 Main St\n"
    with pytest.raises(BadRow) as err:
        _rows("".join(lines))
    assert str(err.value) == 'line 7, column "postal": "12a45" is not a valid numeric(10)'
    assert (err.value.line, err.value.column) == (7, "postal")


def test_line_numbers_count_physical_lines() -> None:
    data = 'P1,a@x,NY,1,"two\nlines"\n\nP2,b@x,NY,2,x\nP3,c@x,NY,oops,x\n'
    with pytest.raises(BadRow, match=r'^line 5, column "postal"'):
        _rows(data)


def test_wrong_field_counts() -> None:
    with pytest.raises(BadRow, match=r'^line 2: expected 5 fields, found 4 \(no "address"\)$'):
        _rows("P1,a@x,NY,1,x\nP2,b@x,NY,2\n")
    with pytest.raises(BadRow, match=r'^line 1: expected 5 fields, found 6 \(extra "more"\)$'):
        _rows("P1,a@x,NY,1,x,more\n")


def test_not_null_and_length() -> None:
    with pytest.raises(BadRow, match=r'^line 1, column "email": missing value'):
        _rows("P1,,NY,1,x\n")
    with pytest.raises(
        BadRow, match=r'^line 1, column "state": "NYCX" is 4 characters, longer than varchar\(3\)'
    ):
        _rows("P1,a@x,NYCX,1,x\n")


def test_malformed_quotes() -> None:
    with pytest.raises(BadRow, match=r"^line 2: malformed CSV"):
        _rows('P1,a@x,NY,1,x\nP2,"b"x,NY,2,x\n')


def test_invalid_utf8() -> None:
    with pytest.raises(BadRow, match="not valid UTF-8"):
        _rows(b"P1,a@x,NY,1,\xff\xfe\n")


def test_header_and_delimiter() -> None:
    table = parse_table(
        {
            "tableName": "t",
            "columns": [{"name": "a", "type": "int"}, {"name": "b", "type": "text"}],
            "format": {"header": True, "delimiter": ";"},
        },
        "t",
    )
    assert _rows("A ; B\n1;x,y\n", table) == [["1", "x,y"]]
    with pytest.raises(BadRow, match="^line 1: the header a, c does not match the columns a, b"):
        _rows("a;c\n1;x\n", table)


def test_spool_round_trips_nulls_spaces_and_quotes(tmp_path: Path) -> None:
    rows = [["1", None, ' a "q" ,\n'], [None, "x", "\\."]]
    spool = Spool.write(tmp_path / "s.csv", rows)
    text = spool.path.read_text()
    assert spool.rows == 2
    assert text == '"1",," a ""q"" ,\n"\n,"x","\\."\n'
    with open(spool.path, newline="") as f:
        assert [[v or None for v in r] for r in csv.reader(f)] == rows
    assert b"".join(spool.chunks()) == text.encode()
