"""An in-memory sink with the same all-or-nothing steps and modes, for tests and dry runs."""

from __future__ import annotations

from dataclasses import dataclass, field

from s3batch.loader.ledger import LedgerEntry
from s3batch.loader.sinks import Echo
from s3batch.loader.spool import Spool
from s3batch.loader.tables import TableDef

#: A stored row: one value per column, None for NULL.
MemoryRow = tuple["str | None", ...]


@dataclass
class MemoryDatabase:
    """Committed tables, by name, and the ledger."""

    tables: dict[str, list[MemoryRow]] = field(default_factory=dict)
    ledger: list[LedgerEntry] = field(default_factory=list)


def read_spool(spool: Spool) -> list[MemoryRow]:
    """The rows of a spool (NULL and the empty string kept apart)."""
    return list(spool.iter_rows())


class MemorySink:
    """Changes a table of a :class:`MemoryDatabase` on commit, as the table's mode says."""

    streams = False

    def __init__(
        self, db: MemoryDatabase, table: TableDef, echo: Echo, label: str = "memory"
    ) -> None:
        self.db, self.table, self.echo, self.label = db, table, echo, label
        self._staged: list[MemoryRow] | None = None
        self._entry: LedgerEntry | None = None
        self._swapped = False

    def open(self, entry: LedgerEntry) -> bool:
        """Check the ledger (nothing to connect to)."""
        self._staged, self._swapped, self._entry = None, False, None
        appended = sum(1 for e in self.db.ledger if e.mode == "append" and _same(e, entry))
        if entry.skip(appended):
            self.echo(f"{entry.key} was already appended to {entry.table}: skipped")
            return False
        return True

    def stage(self, spool: Spool) -> int:
        """Read the spool's rows."""
        self._staged = read_spool(spool)
        self.echo(f"COPY {len(self._staged)}")
        return len(self._staged)

    def swap(self, entry: LedgerEntry) -> int:
        """Mark the staged rows and ``entry`` to be applied at commit."""
        self._swapped, self._entry = True, entry
        return len(self._result())

    def commit(self) -> None:
        """Apply the staged rows and append the ledger entry."""
        if self._swapped and self._staged is not None:
            self.db.tables[self.table.name] = self._result()
            if self._entry is not None:
                self.db.ledger.append(self._entry)
        self._staged, self._swapped = None, False

    def close(self) -> None:
        """Drop anything uncommitted."""
        self._staged, self._swapped = None, False

    def _result(self) -> list[MemoryRow]:
        staged, old = self._staged or [], self.db.tables.get(self.table.name, [])
        if self.table.mode == "append":
            return old + staged
        if self.table.mode == "upsert":
            key = [i for i, c in enumerate(self.table.columns) if c.primary_key]
            merged = {tuple(r[i] for i in key): r for r in old + staged}
            return list(merged.values())
        return staged


def _same(a: LedgerEntry, b: LedgerEntry) -> bool:
    return a.identity() == b.identity()
