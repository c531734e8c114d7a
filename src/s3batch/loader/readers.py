"""Read a byte stream (CSV, JSON lines or Parquet) as checked rows, one at a time.

Memory stays flat. Lines are numbered as in a text editor (a header is line 1), and a
row's number is the line it starts on (Parquet: the row's position, from 1). Blank lines
are skipped. A bad row goes to :class:`~s3batch.loader.rejects.Rejects` with its line,
column and reason; more than ``max_errors`` of them raise
:class:`~s3batch.loader.errors.BadRow`. A file that cannot be parsed at all (malformed
CSV quoting, bad UTF-8) fails at once, naming the line the row starts on (bad UTF-8: the
line and byte of the first bad byte).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from operator import itemgetter
from typing import Protocol

from s3batch.loader.errors import BadRow
from s3batch.loader.rejects import Rejects
from s3batch.loader.tables import TableDef
from s3batch.loader.values import Checker, checker, show

#: Row as handed to the spool: canonical text per column, None for NULL.
Row = list["str | None"]

#: Read buffer for the byte stream.
BUFFER = 1024 * 1024
#: Largest field accepted, in characters (the csv module's default is 128 KiB).
MAX_FIELD = 16 * 1024 * 1024
#: UTF-8's byte-order mark.
BOM = b"\xef\xbb\xbf"


class ByteSource(Protocol):
    """Anything bytes can be read from in pieces (a file, a botocore StreamingBody)."""

    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` bytes; empty at the end."""
        ...


def text_lines(raw: ByteSource) -> Iterator[str]:
    """The UTF-8 lines of a byte stream, line ends kept; a leading BOM is dropped.

    Each line is decoded on its own, so a UnicodeDecodeError is raised for the line after the
    last one yielded, with ``start`` the bad byte's offset in that line (see :func:`bad_utf8`).
    """
    lines = io.BufferedReader(_Raw(raw), BUFFER)
    if lines.peek(len(BOM))[: len(BOM)] == BOM:
        lines.read(len(BOM))
    return map(bytes.decode, lines)


def bad_utf8(line: int, exc: UnicodeDecodeError) -> BadRow:
    """The error for a line :func:`text_lines` could not decode."""
    byte = exc.object[exc.start : exc.start + 1].hex()
    return BadRow(
        line, None, f"not valid UTF-8 (byte 0x{byte} at byte {exc.start + 1} of the line)"
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


def read_rows(raw: ByteSource, table: TableDef, rejects: Rejects | None = None) -> Iterator[Row]:
    """Checked rows of the file in ``raw``, in the table's format. Raises BadRow.

    Bad rows go to ``rejects`` (default: a collector with the table's ``max_errors``).
    """
    return map(itemgetter(1), numbered_rows(raw, table, rejects))


def numbered_rows(
    raw: ByteSource, table: TableDef, rejects: Rejects | None = None
) -> Iterator[tuple[int, Row]]:
    """Each checked row of :func:`read_rows` with its line number. Raises BadRow."""
    rejects = Rejects(table.max_errors) if rejects is None else rejects
    kind = table.format.type
    if kind == "jsonl":
        from s3batch.loader.jsonlines import read_json_lines

        return read_json_lines(raw, table, rejects)
    if kind == "parquet":
        from s3batch.loader.parquet import read_parquet

        return read_parquet(raw, table, rejects)
    return read_csv(raw, table, rejects)


def read_csv(raw: ByteSource, table: TableDef, rejects: Rejects) -> Iterator[tuple[int, Row]]:
    """Checked rows of the CSV in ``raw``, with their line numbers. Raises BadRow."""
    fmt = table.format
    csv.field_size_limit(MAX_FIELD)
    escaped = fmt.escape is not None and fmt.escape != fmt.quote
    reader = csv.reader(
        text_lines(raw),
        delimiter=fmt.delimiter,
        quotechar=fmt.quote,
        doublequote=not escaped,
        escapechar=fmt.escape if escaped else None,
        strict=True,
    )
    try:
        yield from _checked(reader, table, rejects)
    except UnicodeDecodeError as exc:
        raise bad_utf8(reader.line_num + 1, exc) from None


class RowChecker:
    """Checks one record (values in column order, None for NULL) against the table."""

    def __init__(self, table: TableDef) -> None:
        self.table = table
        self.checks: list[Checker] = [checker(c, table.format.empty_as_null) for c in table.columns]
        self.columns = [(c.name, c.not_null) for c in table.columns]

    def check(self, values: list[str | None], line: int) -> Row:
        """The canonical row. Raises BadRow naming the first bad column."""
        row: Row = []
        for check, (name, not_null), value in zip(self.checks, self.columns, values, strict=True):
            if value is None and not_null:
                raise BadRow(line, name, "missing value (the column is NOT NULL)")
            try:
                row.append(None if value is None else check(value))
            except ValueError as exc:
                raise BadRow(line, name, str(exc)) from None
        return row


def _checked(
    reader: csv.Reader, table: TableDef, rejects: Rejects,  # type: ignore[name-defined]
) -> Iterator[tuple[int, Row]]:  # fmt: skip
    checks = [checker(c, table.format.empty_as_null) for c in table.columns]
    rows, null = RowChecker(table), table.format.null
    width, expect_header, line = len(checks), table.format.header, 1
    order: list[int] | None = None
    try:
        for record in reader:
            start, line = line, reader.line_num + 1
            if not record:
                continue
            if expect_header:
                expect_header = False
                order = header_order(record, table, start)
                continue
            if len(record) != width:
                rejects.add(_width_error(record, table, start), _text(record, table))
                continue
            if order is None and null is None:
                try:
                    # The fast path: it runs once per row of the file.
                    yield start, [check(value) for check, value in zip(checks, record, strict=True)]
                    continue
                except ValueError:
                    pass
            values = [record[i] for i in order] if order is not None else record
            try:
                yield start, rows.check([None if v == null else v for v in values], start)
            except BadRow as exc:
                rejects.add(exc, _text(record, table))
    except csv.Error as exc:  # ``line`` is where the row being read starts
        raise _malformed(exc, line, reader.line_num) from None


def _malformed(exc: csv.Error, start: int, current: int) -> BadRow:
    """A row the csv module cannot parse, named by the line it starts on."""
    if str(exc) == "unexpected end of data":  # the file ends inside a quoted field
        return BadRow(start, None, "malformed CSV: a quote opened in this row is never closed")
    where = f" (on line {current})" if current > start else ""
    return BadRow(start, None, f"malformed CSV: {exc}{where}")


def _text(record: list[str], table: TableDef) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=table.format.delimiter, lineterminator="").writerow(record)
    return out.getvalue()


def header_order(record: list[str], table: TableDef, line: int) -> list[int] | None:
    """Where each column is in the file (None: in table order). Raises BadRow."""
    names = [c.name for c in table.columns]
    found = [table.format.column_for(h) for h in record]
    if found == names:
        return None
    if sorted(found) != sorted(names) or len(set(found)) != len(found):
        raise BadRow(
            line,
            None,
            f"the header {', '.join(found)} does not match the columns {', '.join(names)}",
        )
    return [found.index(name) for name in names]


def _width_error(record: list[str], table: TableDef, line: int) -> BadRow:
    width = len(table.columns)
    if len(record) < width:
        missing = table.columns[len(record)].name
        return BadRow(line, None, f'expected {width} fields, found {len(record)} (no "{missing}")')
    extra = show(record[width])
    return BadRow(line, None, f"expected {width} fields, found {len(record)} (extra {extra})")
