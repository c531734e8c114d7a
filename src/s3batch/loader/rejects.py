"""Bad rows of a load: kept with line, column and reason, up to the table's ``max_errors``.

With ``max_errors`` 0 (the default) the first bad row fails the load, as Redshift's
MAXERROR 0 does. Otherwise bad rows are skipped and kept; one more than the limit fails
the load. Either way the kept rows are written next to the object as
``<key>.rejects.csv`` (``line,column,reason,record``) so they can be fixed and reloaded,
with the version of the object they come from in its metadata (:data:`REJECTS_OF`). A
later load of the key that rejects no row removes it: the file next to an object always
describes the object's latest load.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from s3batch.loader.errors import BadRow

#: Suffix of the rejects object written next to the loaded object.
REJECTS_SUFFIX = ".rejects.csv"
#: The rejects object's user metadata naming the version it comes from (VersionId, else
#: ETag): it marks the object as the loader's, which alone a later load may remove.
REJECTS_OF = "s3batch-rejects-of"
#: How many rejects the job log lists one by one (the rest are counted).
LOG_REJECTS = 10


@dataclass(frozen=True)
class Reject:
    """One bad row: where it is, why it was refused, and its text."""

    line: int
    column: str | None
    reason: str
    record: str


class Rejects:
    """Collects bad rows; raises BadRow when there are more than ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[Reject] = []

    def add(self, error: BadRow, record: str) -> None:
        """Keep a bad row. Raises BadRow when this one is over the limit."""
        self.items.append(Reject(error.line, error.column, error.reason, record))
        if len(self.items) > self.limit:
            if not self.limit:
                raise error
            raise BadRow(
                error.line,
                error.column,
                f"{error.reason} ({len(self.items)} bad rows, more than max_errors {self.limit})",
            )

    def __len__(self) -> int:
        return len(self.items)

    def to_csv(self) -> bytes:
        """The rejects file: a header, then one row per bad row."""
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["line", "column", "reason", "record"])
        for r in self.items:
            writer.writerow([r.line, r.column or "", r.reason, r.record])
        return out.getvalue().encode("utf-8")

    def summary(self) -> list[str]:
        """Job log lines: the count, then the first few rejects."""
        lines = [f"{len(self.items)} bad row(s) rejected (max_errors {self.limit})"]
        for r in self.items[:LOG_REJECTS]:
            where = f"line {r.line}" + (f', column "{r.column}"' if r.column else "")
            lines.append(f"  {where}: {r.reason}")
        if len(self.items) > LOG_REJECTS:
            lines.append(f"  ... and {len(self.items) - LOG_REJECTS} more")
        return lines


def rejects_key(key: str) -> str:
    """Where the rejects of object ``key`` are written."""
    return key + REJECTS_SUFFIX
