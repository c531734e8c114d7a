"""Checked rows parked on local disk, so no target is touched before the whole file is valid.

The spool is CSV in one fixed dialect that both PostgreSQL's ``COPY ... (FORMAT csv)`` and
DuckDB's ``COPY ... FROM`` read natively: comma-separated, every value double-quoted
(``"`` doubled inside), NULL written as an empty unquoted field, LF after each row, UTF-8.
Quoting every value keeps leading and trailing spaces and can never be mistaken for NULL
or for PostgreSQL's ``\\.`` end-of-data marker.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from s3batch.loader.readers import Row

#: Size of the pieces the spool is read back in.
CHUNK = 1024 * 1024


class Spool:
    """A file of checked rows; create with :meth:`write`, then read with :meth:`chunks`."""

    def __init__(self, path: Path, rows: int) -> None:
        self.path = path
        #: How many rows the spool holds.
        self.rows = rows

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

    def chunks(self) -> Iterator[bytes]:
        """The spool's bytes, a piece at a time."""
        with open(self.path, "rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk
