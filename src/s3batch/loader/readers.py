"""Read a CSV byte stream as checked rows, one at a time (memory stays flat).

Lines are numbered as in a text editor (a header is line 1), and a row's number is the
line it starts on. Blank lines are skipped. The first bad row raises
:class:`~s3batch.loader.errors.BadRow` naming the line, the column and the reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Protocol

from s3batch.loader.errors import BadRow
from s3batch.loader.tables import TableDef
from s3batch.loader.values import checker, show

#: Row as handed to the spool: canonical text per column, None for NULL.
Row = list["str | None"]

#: Read buffer for the byte stream.
BUFFER = 1024 * 1024
#: Largest field accepted, in characters (the csv module's default is 128 KiB).
MAX_FIELD = 16 * 1024 * 1024


class ByteSource(Protocol):
    """Anything bytes can be read from in pieces (a file, a botocore StreamingBody)."""

    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` bytes; empty at the end."""
        ...


def text_stream(raw: ByteSource) -> io.TextIOWrapper:
    """UTF-8 text over a byte stream; a leading BOM is dropped, line ends are kept for csv."""
    return io.TextIOWrapper(
        io.BufferedReader(_Raw(raw), BUFFER), encoding="utf-8-sig", errors="strict", newline=""
    )


class _Raw(io.RawIOBase):
    """Adapts anything with ``read(n)`` (a botocore StreamingBody) to a raw stream."""

    def __init__(self, source: ByteSource) -> None:
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def read_rows(raw: ByteSource, table: TableDef) -> Iterator[Row]:
    """Checked rows of the CSV in ``raw``. Raises BadRow at the first bad row."""
    fmt = table.format
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(
        text_stream(raw),
        delimiter=fmt.delimiter,
        quotechar=fmt.quote,
        doublequote=True,
        strict=True,
    )
    rows = _checked(reader, table)
    try:
        yield from rows
    except csv.Error as exc:
        raise BadRow(max(reader.line_num, 1), None, f"malformed CSV: {exc}") from None
    except UnicodeDecodeError:
        # Bytes are decoded a buffer ahead of the csv reader: the line is approximate.
        reason = "not valid UTF-8 (on this line or a later one)"
        raise BadRow(reader.line_num + 1, None, reason) from None


def _checked(reader: csv.Reader, table: TableDef) -> Iterator[Row]:  # type: ignore[name-defined]
    checks = [checker(c) for c in table.columns]
    width, expect_header, line = len(checks), table.format.header, 1
    for record in reader:
        start, line = line, reader.line_num + 1
        if not record:
            continue
        if expect_header:
            expect_header = False
            _check_header(record, table, start)
            continue
        if len(record) != width:
            raise _width_error(record, table, start)
        try:
            yield [check(value) for check, value in zip(checks, record, strict=True)]
        except ValueError:
            raise _value_error(record, table, start) from None


def _check_header(record: list[str], table: TableDef, line: int) -> None:
    names = [c.name for c in table.columns]
    found = [h.strip().lower() for h in record]
    if found != names:
        raise BadRow(
            line,
            None,
            f"the header {', '.join(found)} does not match the columns {', '.join(names)}",
        )


def _width_error(record: list[str], table: TableDef, line: int) -> BadRow:
    width = len(table.columns)
    if len(record) < width:
        missing = table.columns[len(record)].name
        return BadRow(line, None, f'expected {width} fields, found {len(record)} (no "{missing}")')
    extra = show(record[width])
    return BadRow(line, None, f"expected {width} fields, found {len(record)} (extra {extra})")


def _value_error(record: list[str], table: TableDef, line: int) -> BadRow:
    for column, value in zip(table.columns, record, strict=True):
        try:
            checker(column)(value)
        except ValueError as exc:
            return BadRow(line, column.name, str(exc))
    return BadRow(line, None, "invalid row")  # unreachable: some column failed above
