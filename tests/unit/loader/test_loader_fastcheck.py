"""The fast path's pattern: it takes only lines the row checker takes, and Scan finds the rows."""

from __future__ import annotations

import csv
import dataclasses
import re
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from s3batch.loader.errors import BadRow, RowsRefused
from s3batch.loader.fastcheck import LINE_START, Scan, row_pattern
from s3batch.loader.readers import RowChecker
from s3batch.loader.spool import Spool
from s3batch.loader.tables import TableDef, parse_tables

TYPED = parse_tables(
    [
        {
            "tableName": "typed",
            "columns": [
                {"name": "id", "type": "integer", "primaryKey": True},
                {"name": "small", "type": "smallint"},
                {"name": "big", "type": "bigint"},
                {"name": "amount", "type": "numeric(6,2)"},
                {"name": "share", "type": "numeric(3,3)"},
                {"name": "ratio", "type": "double precision"},
                {"name": "flag", "type": "boolean"},
                {"name": "day", "type": "date"},
                {"name": "at", "type": "timestamp"},
                {"name": "code", "type": "varchar(3)", "nullable": False},
                {"name": "note", "type": "text"},
            ],
        }
    ],
    "test",
)[0]
#: Characters that make up (and break) values of every type.
VALUE_CHARS = " +-0123456789.eETtrufalsyno:_x\"'\\\t\x00é"


def fields(table: TableDef, **values: str) -> str:
    """A line of ``table`` with good values, some replaced by ``values``."""
    good = {
        "id": "1", "small": "2", "big": "3", "amount": "4.5", "share": "0.5", "ratio": "1.5",
        "flag": "t", "day": "2024-02-29", "at": "2024-02-29 10:00", "code": "abc", "note": "n",
    }  # fmt: skip
    return ",".join({**good, **values}[c.name] for c in table.columns)


def test_a_good_line_matches() -> None:
    pattern = row_pattern(TYPED)
    assert pattern is not None and pattern.fullmatch(fields(TYPED))


@pytest.mark.parametrize(
    "change",
    [
        {"type": "jsonl"},
        {"null": "NULL"},
        {"empty_as_null": False},
        {"escape": "\\"},
        {"delimiter": ":"},
        {"quote": "*"},
    ],
)
def test_formats_without_a_fast_path(change: dict[str, object]) -> None:
    table = dataclasses.replace(TYPED, format=dataclasses.replace(TYPED.format, **change))
    assert row_pattern(table) is None


def test_postgres_end_of_data_marker_is_refused() -> None:
    (table,) = parse_tables([{"tableName": "t", "columns": [{"name": "x", "type": "text"}]}], "t")
    pattern = row_pattern(table)
    assert pattern is not None and pattern.fullmatch("\\.x") and not pattern.fullmatch("\\.")


def test_a_real_column_has_no_fast_path() -> None:
    (table,) = parse_tables(
        [{"tableName": "t", "columns": [{"name": "x", "type": "real"}]}], "test"
    )
    assert row_pattern(table) is None


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("amount", "1.555"),  # PostgreSQL and DuckDB would round it
        ("amount", "12345"),  # too many digits
        ("share", "1.5"),
        ("code", "abcd"),  # PostgreSQL keeps "abc" when the rest is spaces; DuckDB all of it
        ("day", "2023-11-31"),
        ("code", ""),  # NOT NULL
        ("small", "99999"),
        ("id", "0x1F"),
        ("big", "1_000"),
        ("ratio", "NaN"),
        ("ratio", "1e3"),
        ("flag", "on"),  # DuckDB refuses it
        ("flag", " t"),
        ("day", "2024-2-29"),
        ("day", "Feb 29 2024"),
        ("day", "0000-01-01"),
        ("at", "2024-02-29 24:00"),
        ("at", "2024-02-29 10:00+02"),  # PostgreSQL drops the offset of a timestamp
        ("note", 'a"b'),  # a quote inside an unquoted field
    ],
)
def test_values_the_databases_read_differently_are_refused(column: str, value: str) -> None:
    pattern = row_pattern(TYPED)
    assert pattern is not None
    assert pattern.fullmatch(fields(TYPED, **{column: value})) is None


@pytest.mark.parametrize(
    "line",
    [
        '1,,,,,,,,,"a,b","say ""hi"""',
        '"1", 2 ,+3,004.50,0.5,-1.25,TRUE,2024-02-29,2024-02-29T10:00:59.123456,"x",""',
        fields(TYPED, code="ab "),  # exactly 3 characters, kept as they are
    ],
)
def test_quoted_and_spelled_values_match(line: str) -> None:
    pattern = row_pattern(TYPED)
    assert pattern is not None and pattern.fullmatch(line)


@given(
    column=st.sampled_from([c.name for c in TYPED.columns]),
    value=st.text(alphabet=VALUE_CHARS, max_size=14),
)
def test_every_line_the_pattern_takes_the_checker_takes(column: str, value: str) -> None:
    pattern = row_pattern(TYPED)
    assert pattern is not None
    line = fields(TYPED, **{column: value})
    if pattern.fullmatch(line):
        try:
            RowChecker(TYPED).check(next(csv.reader([line], strict=True)), 1)
        except (BadRow, csv.Error, ValueError) as exc:
            pytest.fail(f"the pattern took {line!r}, the checked path refuses it: {exc}")


#: The pattern less its look-aheads, which hypothesis cannot generate from (and which only
#: refuse blank lines and PostgreSQL's end-of-data marker, never made from the rest).
_BODY = re.compile(
    (row_pattern(TYPED) or re.compile("")).pattern.removeprefix(LINE_START), re.ASCII
)


@settings(max_examples=50)
@given(line=st.from_regex(_BODY, fullmatch=True))
def test_every_line_made_from_the_pattern_is_taken_by_the_checker(line: str) -> None:
    assume("-02-29" not in line)  # of a common year: the databases refuse it (test_loader_fastpath)
    assert row_pattern(TYPED).fullmatch(line)  # type: ignore[union-attr]
    try:
        RowChecker(TYPED).check(next(csv.reader([line], strict=True)), 1)
    except (BadRow, csv.Error, ValueError) as exc:
        pytest.fail(f"the pattern took {line!r}, the checked path refuses it: {exc}")


def scan(tmp_path: Path, data: bytes, table: TableDef = TYPED) -> Scan:
    path = tmp_path / "object"
    path.write_bytes(data)
    found = Scan.of(table)
    assert found is not None
    for i in range(0, len(data), 7):  # pieces that cut lines and characters
        found.count(data[i : i + 7])
    found.head(path)
    found.check(path)
    return found


def test_scan_skips_a_bom_and_a_header_and_counts_crlf_rows(tmp_path: Path) -> None:
    header = ",".join(c.name for c in TYPED.columns)
    with_header = dataclasses.replace(TYPED, format=dataclasses.replace(TYPED.format, header=True))
    data = f"\ufeff{header}\r\n{fields(TYPED)}\r\n{fields(TYPED, id='2')}".encode()
    found = scan(tmp_path, data, with_header)
    assert (found.ok, found.rows, found.offset) == (True, 2, 3 + len(header) + 2)


def test_scan_refuses_a_header_in_another_order(tmp_path: Path) -> None:
    names = [c.name for c in TYPED.columns]
    with_header = dataclasses.replace(TYPED, format=dataclasses.replace(TYPED.format, header=True))
    data = f"{','.join(reversed(names))}\n{fields(TYPED)}\n".encode()
    assert not scan(tmp_path, data, with_header).ok


@pytest.mark.parametrize(
    "data",
    [
        b"{line}\n\n{line}\n",  # a blank line (the checker skips it; COPY does not)
        b'{line}\n1,2,3,4,5,.5,1,t,2024-02-29,2024-02-29 10:00,abc,"two\nlines"\n',
        b"{line}\n" + "é".encode("latin-1") + b"\n",  # not UTF-8
        b"{line}\n{line},extra\n",
    ],
)
def test_scan_refuses_lines_the_checked_path_must_read(tmp_path: Path, data: bytes) -> None:
    assert not scan(tmp_path, data.replace(b"{line}", fields(TYPED).encode())).ok


@pytest.mark.parametrize(("data", "rows"), [(b"", 0), (b"\xef\xbb\xbf", 0), (b"{line}", 1)])
def test_scan_counts_rows_of_tiny_files(tmp_path: Path, data: bytes, rows: int) -> None:
    found = scan(tmp_path, data.replace(b"{line}", fields(TYPED).encode()))
    assert (found.ok, found.rows) == (True, rows)


def test_an_unchecked_spool_gives_checked_rows_or_refuses(tmp_path: Path) -> None:
    """Sinks that read rows in Python (SQLite, memory) get them checked, and canonical."""
    path = tmp_path / "object"
    path.write_bytes(f"{fields(TYPED, amount='007.5')}\n".encode())
    spool = Spool.unchecked(path, 1, TYPED, 0)
    assert [row[3] for row in spool.iter_rows()] == ["7.50"]
    path.write_bytes(f"{fields(TYPED, day='2023-02-29')}\n".encode())
    with pytest.raises(RowsRefused, match='line 1, column "day": "2023-02-29" is not a valid date'):
        list(spool.iter_rows())


SMALL = parse_tables(
    [
        {
            "tableName": "small",
            "columns": [
                {"name": "code", "type": "varchar(3)", "nullable": False},
                {"name": "n", "type": "integer"},
                {"name": "note", "type": "varchar(4)"},
            ],
        }
    ],
    "test",
)[0]
#: Pieces of lines: good values, and every character that separates, quotes or breaks them.
LINE_PARTS = ["ab", "é", "12", " ", ",", '"', "\r", "\n", "\x00", "\\.", "\r\n", "+7", "abcde"]


def lines_match(table: TableDef, text: str) -> bool:
    """The reference: every line (LF or CRLF ended; the last may lack one) matches the row pattern."""
    pattern = row_pattern(table)
    assert pattern is not None
    lines = re.split(r"\r?\n", text)
    if lines[-1] == "":
        lines.pop()
    return all(pattern.fullmatch(line) for line in lines)


@settings(max_examples=400)
@given(parts=st.lists(st.sampled_from(LINE_PARTS), max_size=40))
def test_scan_agrees_with_matching_each_line(
    tmp_path_factory: pytest.TempPathFactory, parts: list[str]
) -> None:
    """Pieces without quotes take a plainer pattern: it must judge every file as the full one does."""
    text = "".join(parts)
    path = tmp_path_factory.mktemp("scan") / "object"
    path.write_bytes(text.encode())
    found = Scan.of(SMALL)
    assert found is not None
    assert found.check(path) == lines_match(SMALL, text), repr(text)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("ab,1,x\nabc,,\r\n", True),  # LF and CRLF mixed: judged by the full pattern
        ("ab,1,x\r\nabc,,\r\n", True),
        ("ab,1,x\nabc\n,,\n", False),  # a value holding a line break, as the plain pattern reads it
        ("ab,1,x\nab,1\nx,1,\n", False),  # as many delimiters in all, not on every line
        ("abc,1,abcd\n" * 3, True),
        ("abc,1,abcde\n", False),
        ("ab\r,1,x\r\n", False),  # a lone carriage return
    ],
)
def test_scan_of_quote_free_files(tmp_path: Path, text: str, ok: bool) -> None:
    path = tmp_path / "object"
    path.write_bytes(text.encode())
    found = Scan.of(SMALL)
    assert found is not None
    assert (found.check(path), lines_match(SMALL, text)) == (ok, ok)
