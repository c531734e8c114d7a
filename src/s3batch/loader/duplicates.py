"""Name the two lines of a duplicate primary key that a target database found.

A database reports a duplicate key by its value only, and does not know the file's line
numbers. When a target refuses the load for a duplicate primary key, the loader reads
the downloaded file again with the row checker, and finds the first row whose key an
earlier row holds. The keys seen go into a temporary on-disk SQLite table (with the line
each was first seen on), so memory stays bounded whatever the file's size; this runs only
after a target refused the file, so the load's usual path pays nothing for it.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from s3batch.loader.errors import BadRow, DuplicateKey
from s3batch.loader.readers import numbered_rows
from s3batch.loader.rejects import Rejects
from s3batch.loader.sinks import Echo
from s3batch.loader.tables import TableDef


@contextmanager
def duplicate_lines(path: Path, table: TableDef, echo: Echo) -> Iterator[None]:
    """Turn a target's duplicate-key refusal into a BadRow naming both lines of the file at ``path``.

    A duplicate the file does not hold (an append of a key already in the table) keeps the
    target's error.
    """
    try:
        yield
    except DuplicateKey as exc:
        echo(f"{exc}; finding its lines in the file")
        found = first_duplicate(path, table)
        if found is None:
            raise
        raise found from None


def first_duplicate(path: Path, table: TableDef) -> BadRow | None:
    """The first row of the file at ``path`` whose primary key an earlier row has, if any.

    Rows the checker rejects are not loaded, so they are skipped here too.
    """
    positions = [i for i, column in enumerate(table.columns) if column.primary_key]
    names = [table.columns[i].name for i in positions]
    columns = ", ".join(f"k{i}" for i in range(len(positions)))
    with closing(sqlite3.connect("")) as seen, open(path, "rb") as raw:  # "": a temporary file
        seen.execute(f"CREATE TABLE seen ({columns}, line, PRIMARY KEY ({columns})) WITHOUT ROWID")
        insert = f"INSERT INTO seen VALUES ({', '.join('?' * (len(positions) + 1))})"
        for line, row in numbered_rows(raw, table, Rejects(sys.maxsize)):
            key = [row[i] for i in positions]
            try:
                seen.execute(insert, (*key, line))
            except sqlite3.IntegrityError:
                where = " AND ".join(f"k{i} = ?" for i in range(len(positions)))
                (first,) = seen.execute(f"SELECT line FROM seen WHERE {where}", key).fetchone()
                return BadRow(
                    line, None,
                    f"duplicate primary key ({', '.join(names)})=({', '.join(map(str, key))}), "
                    f"first seen on line {first}",
                )  # fmt: skip
    return None
