"""An in-memory sink with the same all-or-nothing steps, for tests and dry runs."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

from s3batch.loader.sinks import Echo
from s3batch.loader.spool import Spool
from s3batch.loader.tables import TableDef

#: A stored row: one value per column, None for NULL.
MemoryRow = tuple["str | None", ...]


@dataclass
class MemoryDatabase:
    """Committed tables, by name."""

    tables: dict[str, list[MemoryRow]] = field(default_factory=dict)


class MemorySink:
    """Replaces a table of a :class:`MemoryDatabase` on commit."""

    def __init__(
        self, db: MemoryDatabase, table: TableDef, echo: Echo, label: str = "memory"
    ) -> None:
        self.db, self.table, self.echo, self.label = db, table, echo, label
        self._staged: list[MemoryRow] | None = None
        self._swapped = False

    def open(self) -> None:
        """Nothing to connect to."""
        self._staged, self._swapped = None, False

    def stage(self, spool: Spool) -> int:
        """Read the spool's rows (an empty field is NULL: the spool has no empty strings)."""
        with open(spool.path, encoding="utf-8", newline="") as f:
            self._staged = [tuple(v if v else None for v in row) for row in csv.reader(f)]
        self.echo(f"COPY {len(self._staged)}")
        return len(self._staged)

    def swap(self) -> int:
        """Mark the staged rows to replace the table at commit."""
        self._swapped = True
        return len(self._staged or [])

    def commit(self) -> None:
        """Replace the table's rows."""
        if self._swapped and self._staged is not None:
            self.db.tables[self.table.name] = self._staged
        self._staged, self._swapped = None, False

    def close(self) -> None:
        """Drop anything uncommitted."""
        self._staged, self._swapped = None, False
