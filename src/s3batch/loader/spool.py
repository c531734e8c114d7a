"""Rows parked on local disk, so no target is touched before the whole file is valid.

A spool is checked or unchecked. A checked spool holds rows the row checker read, in one
fixed CSV dialect that both PostgreSQL's ``COPY ... (FORMAT csv)`` and DuckDB's ``COPY
... FROM`` read natively (:data:`CHECKED`): comma-separated, every value double-quoted
(``"`` doubled inside), NULL written as an empty unquoted field, LF after each row, UTF-8.
Quoting every value keeps leading and trailing spaces and can never be mistaken for NULL
or for PostgreSQL's ``\\.`` end-of-data marker. An unchecked spool is the object itself,
as downloaded, when :mod:`s3batch.loader.fastcheck` found that the databases read every
value of it as the checker would: its :attr:`Spool.dialect` is the table's format, and
:meth:`Spool.iter_rows` checks its rows on the way out for sinks that read rows in Python.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from s3batch.loader.errors import BadRow, RowsRefused
from s3batch.loader.readers import Row, read_rows
from s3batch.loader.rejects import Rejects
from s3batch.loader.tables import TableDef

#: Size of the pieces the spool is read back in.
CHUNK = 1024 * 1024

#: One field: quoted text, or nothing (NULL), then a comma or the end of the row.
_FIELD = re.compile(r'(?:"((?:[^"]|"")*)"|)(?:,|\n)')


@dataclass(frozen=True)
class Dialect:
    """How a spool's CSV is spelled (PostgreSQL's and DuckDB's CSV options say the same)."""

    delimiter: str = ","
    quote: str = '"'
    #: Whether a quoted empty field is NULL too, not an empty string (empty-as-NULL files).
    quoted_null: bool = False
    #: Whether a header line precedes the rows.
    header: bool = False
    #: The line terminator, as a CSV option spells it (``\\n``); None: the reader finds it
    #: (a downloaded object, whose lines may end in CRLF and hold no quoted line break).
    newline: str | None = "\\n"


#: The dialect of a checked spool.
CHECKED = Dialect()


class Growing(Protocol):
    """A file still being written (:class:`~s3batch.loader.download.Download`)."""

    def follow(self, offset: int) -> Iterator[bytes]:
        """The file's bytes from ``offset`` as they arrive, until it is complete."""
        ...

    def wait(self) -> None:
        """Wait until the file is complete."""
        ...


class Spool:
    """A file of rows; create with :meth:`write` or :meth:`unchecked`, read with :meth:`chunks`."""

    def __init__(
        self, path: Path, rows: int, dialect: Dialect = CHECKED, offset: int = 0,
        table: TableDef | None = None, growing: Growing | None = None,
    ) -> None:  # fmt: skip
        self.path = path
        #: How many rows the spool holds.
        self.rows = rows
        #: How the file's CSV is spelled.
        self.dialect = dialect
        #: Bytes before the first row (a byte-order mark, a header line): :meth:`chunks` skips them.
        self.offset = offset
        #: The table whose checks :meth:`iter_rows` applies (unchecked spools only).
        self.table = table
        self._growing = growing

    @classmethod
    def unchecked(
        cls, path: Path, rows: int, table: TableDef, offset: int, growing: Growing | None = None
    ) -> Spool:
        """The object downloaded to ``path``, whose rows the databases check themselves.

        With ``growing``, the object is still arriving: :meth:`chunks` follows it, and
        :attr:`rows` is set once it is complete.
        """
        fmt = table.format
        dialect = Dialect(
            fmt.delimiter, fmt.quote, quoted_null=True, header=fmt.header, newline=None
        )
        return cls(path, rows, dialect, offset, table, growing)

    def wait(self) -> None:
        """Wait until the file is complete (at once unless it is still arriving)."""
        if self._growing is not None:
            self._growing.wait()

    @property
    def checked(self) -> bool:
        """Whether the row checker wrote the spool (else it is the object as downloaded)."""
        return self.table is None

    @classmethod
    def write(cls, path: Path, rows: Iterable[Row]) -> Spool:
        """Write ``rows`` to a new file at ``path``; BadRow from ``rows`` propagates."""
        count = 0
        with open(path, "w", encoding="utf-8", newline="\n", buffering=CHUNK) as out:
            for row in rows:
                # Inlined (not a helper per field): this runs once per field of the file.
                out.write(
                    ",".join(["" if v is None else '"' + v.replace('"', '""') + '"' for v in row])
                )
                out.write("\n")
                count += 1
        return cls(path, count)

    def iter_rows(self) -> Iterator[tuple[str | None, ...]]:
        """The spool's rows, one at a time (NULL and the empty string kept apart)."""
        self.wait()
        if self.table is not None:
            with open(self.path, "rb") as raw:
                try:
                    yield from map(tuple, read_rows(raw, self.table, Rejects(0)))
                except BadRow as exc:  # the load checks the file again, keeping rejects
                    raise RowsRefused(str(exc)) from exc
            return
        with open(self.path, encoding="utf-8", newline="\n", buffering=CHUNK) as f:
            pending = ""
            for line in f:
                pending += line
                if pending.count('"') % 2:  # inside a quoted value that holds a line break
                    continue
                yield tuple(
                    None if m[1] is None else m[1].replace('""', '"')
                    for m in _FIELD.finditer(pending)
                )
                pending = ""

    def chunks(self) -> Iterator[bytes]:
        """The spool's bytes, a piece at a time (as they arrive, if it is still arriving)."""
        if self._growing is not None:
            yield from self._growing.follow(self.offset)
            return
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            while chunk := f.read(CHUNK):
                yield chunk
