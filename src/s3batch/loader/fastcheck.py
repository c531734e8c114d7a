"""Check a whole CSV file at C speed, so the databases can parse it themselves.

The loader's fast path hands the object's own bytes to the targets (PostgreSQL's COPY,
DuckDB's ``COPY ... FROM``), which parse the CSV and convert each value in C. That is
sound only for files whose every value a database reads exactly as the row checker
(:mod:`s3batch.loader.values`) would, so a file takes the fast path only when
:class:`Scan` finds every line matching one regular expression, compiled once per table
by :func:`row_pattern`. The pattern accepts a strict subset of what the checker accepts:
each value spelled the way PostgreSQL, DuckDB and the checker all read alike and never
round, trim or truncate (a varchar within its length, a numeric with no more digits than
its scale, a boolean as true/false/t/f/1/0, ISO dates), with no quoted line breaks, blank
lines or NUL characters. Anything else sends the file down the checked path, which reads
every field in Python and names the line, column and reason of each bad row: the pattern
may refuse a good row, never accept a bad one. Values it accepts that a database still
refuses (2021-02-30) also fall back to the checked path (see :mod:`s3batch.loader.job`).

Most files hold no quote character at all. For them :class:`Scan` matches a piece of the
file with a plainer pattern that reads a text value as "anything but the delimiter",
which Python's regular expressions match about three times as fast as the full pattern's
character class; it is exact there, not looser (see :meth:`Scan._plain_piece`).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from s3batch.loader.errors import BadRow
from s3batch.loader.readers import BOM, header_order
from s3batch.loader.spool import CHUNK
from s3batch.loader.tables import Column, TableDef

#: Delimiters and quotes the fast path takes: none can appear inside a non-text value.
DELIMITERS, QUOTES = frozenset(",;|\t"), frozenset("\"'")
#: Longest line the fast path takes (DuckDB reads lines up to 2 MB); longer ones are
#: checked in Python.
MAX_LINE = 1024 * 1024
#: How every line's pattern starts: a line is neither blank (the checker skips it, COPY
#: does not) nor PostgreSQL's end-of-data marker.
LINE_START = r"(?!\\\.\r?(?:\n|\Z))(?!\r?(?:\n|\Z))"

_INTEGER_DIGITS = {"smallint": 4, "integer": 9, "bigint": 18}
#: A day of the calendar, but for the 29th of February in common years (the databases refuse it).
_DATE = (
    r"(?!0000)\d{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-9])"
    r"|(?:0[13-9]|1[0-2])-30|(?:0[13578]|1[02])-31)"
)
_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?"


def row_pattern(table: TableDef, quoted: bool = True) -> re.Pattern[str] | None:
    """The pattern one line (without its line end) must match; None if the format has no fast path.

    Without ``quoted``: the pattern of a line in a piece of the file that holds no quote,
    carriage return or NUL, and none of whose values holds a line break (see
    :meth:`Scan._plain_piece`); it has no look-aheads, as such a line of two columns or
    more is neither blank nor ``\\.``.
    """
    fmt = table.format
    if (
        fmt.type != "csv"
        or fmt.delimiter not in DELIMITERS
        or fmt.quote not in QUOTES
        or fmt.escape not in (None, fmt.quote)
        or fmt.null not in (None, "")
        or not fmt.empty_as_null
    ):
        return None
    fields = [_field(c, fmt.delimiter, fmt.quote if quoted else None) for c in table.columns]
    if None in fields:
        return None
    start = LINE_START if quoted else ""
    # ASCII: \d is 0-9 only (in Unicode it is any script's digits, which no database reads).
    return re.compile(start + re.escape(fmt.delimiter).join(map(str, fields)), re.ASCII)


def _field(column: Column, delimiter: str, quote: str | None) -> str | None:
    """One value's pattern; with no ``quote``, as spelled in a piece that holds no quote."""
    sql, d = column.type, re.escape(delimiter)
    lowest = 1 if column.not_null else 0
    if sql.name in ("varchar", "text"):
        most = sql.length or ""
        if quote is None:  # one negated character: the engine's fastest loop
            return rf"[^{d}]{{{lowest},{most}}}"
        q = re.escape(quote)
        plain = rf"[^{d}{q}\r\n\x00]{{{lowest},{most}}}"
        return rf"(?:{plain}|{q}(?:[^{q}\r\n\x00]|{q}{q}){{{lowest},{most}}}{q})"
    value = _value(column)
    if value is None:
        return None
    if quote is None:
        return value if column.not_null else f"(?:{value}|)"
    q = re.escape(quote)
    empty = "" if column.not_null else f"|{q}{q}|"
    return rf"(?:{value}|{q}{value}{q}{empty})"


def _value(column: Column) -> str | None:
    """A non-text value as all three readers take it alike; None: never on the fast path."""
    sql = column.type
    if sql.name in _INTEGER_DIGITS:
        return rf" *[+-]?0*\d{{1,{_INTEGER_DIGITS[sql.name]}}} *"
    if sql.name == "numeric":
        whole = sql.precision - sql.scale if sql.precision else 0
        digits = rf"0*\d{{1,{whole}}}" if whole else "0+"
        fraction = rf"(?:\.\d{{1,{sql.scale}}}0*)?" if sql.scale else r"(?:\.0+)?"
        return rf" *[+-]?{digits}{fraction} *"
    if sql.name == "double precision":
        return r" *[+-]?\d{1,15}(?:\.\d{1,15})? *"
    if sql.name == "boolean":
        return "(?i:true|false|t|f|1|0)"
    if sql.name == "date":
        return f" *{_DATE} *"
    if sql.name == "timestamp":
        return f" *{_DATE}[T ]{_TIME} *"
    return None  # real: float32 rounding may differ between Python and the databases


class Scan:
    """Checks a downloaded file against its table's pattern.

    :meth:`count` counts lines as the object downloads; :meth:`head` finds where the rows
    begin (after a BOM and a header line); :meth:`check` matches every row, and is meant
    to run in a thread while the targets copy the file (it holds the GIL only while it
    matches one piece, and the COPYs mostly wait on their servers).
    """

    def __init__(self, table: TableDef, pattern: re.Pattern[str]) -> None:
        self.table, self._pattern = table, pattern
        self._lines = _repeated(pattern)
        plain = row_pattern(table, quoted=False) if len(table.columns) > 1 else None
        self._plain = None if plain is None else _repeated(plain, newline="\n")
        fmt = table.format
        self._specials = tuple(c.encode() for c in (fmt.quote, "\x00"))
        self._delimiter = fmt.delimiter.encode()
        #: False once a line is known not to match (a header in another order).
        self.ok = True
        #: Bytes before the first row: a BOM, a header line.
        self.offset = 0
        self._newlines, self._last, self._size = 0, b"\n", 0

    @classmethod
    def of(cls, table: TableDef) -> Scan | None:
        """A scan for ``table``'s files, or None when its format has no fast path."""
        pattern = row_pattern(table)
        return None if pattern is None else cls(table, pattern)

    def count(self, piece: bytes) -> None:
        """Count the lines of the next piece of the file."""
        self._newlines += piece.count(b"\n")
        self._last = piece[-1:] or self._last
        self._size += len(piece)

    @property
    def rows(self) -> int:
        """How many rows the file holds, if :meth:`check` finds every line a row."""
        if self._size <= self.offset:  # nothing but a BOM, a header
            return 0
        lines = self._newlines + (self._last != b"\n")
        return max(0, lines - self.table.format.header)

    def head(self, path: Path) -> None:
        """Find where the rows of the file at ``path`` begin (:attr:`offset`)."""
        with open(path, "rb") as f:
            first = f.readline(MAX_LINE)
        self.offset = len(BOM) if first.startswith(BOM) else 0
        if self.table.format.header:
            self.ok = self._header_in_order(first[self.offset :])
            self.offset = len(first)

    def check(self, path: Path) -> bool:
        """Whether every row of the file at ``path`` (from :attr:`offset`) matches the pattern."""
        pending = b""
        with open(path, "rb") as f:
            f.seek(self.offset)
            while self.ok and (piece := f.read(CHUNK)):
                data = pending + piece
                end = data.rfind(b"\n") + 1
                pending = data[end:]
                self.ok = len(pending) <= MAX_LINE and self._piece_matches(data[:end])
        if self.ok and pending:
            self.ok = _matches(self._pattern, pending)
        return self.ok

    def _piece_matches(self, piece: bytes) -> bool:
        """Whether every line of ``piece`` (whole lines, each ending in a line feed) matches."""
        plain = self._plain_piece(piece)
        if plain is not None and _matches(self._plain, plain):
            return True
        return _matches(self._lines, piece)

    def _plain_piece(self, piece: bytes) -> bytes | None:
        """``piece`` with CRLF line ends made LF, when the plain pattern can judge it; else None.

        The plain pattern is exact for a piece with no quote, NUL or lone carriage return
        in which every line holds as many delimiters as the table has columns less one: no
        non-text value can hold a delimiter or line break, and as each matched line then
        holds exactly that many delimiters, as many lines are matched as the piece holds
        line feeds, so no text value matched as "anything but the delimiter" can have
        taken in a line feed. Each text value is then one the full pattern's unquoted
        form takes too, and there are no quoted ones.
        """
        if self._plain is None or any(c in piece for c in self._specials):
            return None
        returns = piece.count(b"\r")
        if returns:
            if returns != piece.count(b"\r\n"):
                return None
            piece = piece.replace(b"\r\n", b"\n")
        per_line = len(self.table.columns) - 1
        if piece.count(self._delimiter) != per_line * piece.count(b"\n"):
            return None
        return piece

    def _header_in_order(self, line: bytes) -> bool:
        """Whether the header names the table's columns in order (else the checker maps them)."""
        fmt = self.table.format
        try:
            text = line.decode("utf-8")
            names = next(csv.reader([text], delimiter=fmt.delimiter, quotechar=fmt.quote))
            return header_order(names, self.table, 1) is None
        except (BadRow, UnicodeDecodeError, csv.Error, StopIteration):
            return False


def _repeated(line: re.Pattern[str], newline: str = r"\r?\n") -> re.Pattern[str]:
    """A pattern for any number of lines that each match ``line`` and end in ``newline``."""
    return re.compile(rf"(?:{line.pattern}{newline})*+", re.ASCII)


def _matches(pattern: re.Pattern[str], data: bytes) -> bool:
    try:
        return pattern.fullmatch(data.decode("utf-8")) is not None
    except UnicodeDecodeError:
        return False
