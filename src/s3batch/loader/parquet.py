"""Read Parquet with pyarrow (the optional ``parquet`` extra), a record batch at a time.

Parquet needs random access, so the object is first copied to a local temporary file.
Columns are matched by name (after the format's ``columnMap``); each value is turned
into the text the table's checker reads, so Parquet rows pass the same checks as CSV.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from s3batch.loader.errors import BadRow, LoadConfigError
from s3batch.loader.readers import ByteSource, Row, RowChecker
from s3batch.loader.rejects import Rejects
from s3batch.loader.tables import TableDef

#: Rows per record batch read from the file.
BATCH_ROWS = 65536


def read_parquet(raw: ByteSource, table: TableDef, rejects: Rejects) -> Iterator[tuple[int, Row]]:
    """Checked rows of the Parquet file in ``raw``, numbered from 1. Raises BadRow, LoadConfigError."""
    try:
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError as exc:
        if exc.name and not exc.name.startswith("pyarrow"):
            raise
        raise LoadConfigError(
            "Parquet files need the pyarrow package: pip install 's3batch[parquet]'"
        ) from None
    rows = RowChecker(table)
    with tempfile.TemporaryFile(prefix="s3batch-parquet-") as local:
        shutil.copyfileobj(raw, local, 1024 * 1024)
        local.seek(0)
        try:
            parquet = pq.ParquetFile(local)
        except Exception as exc:  # pyarrow.ArrowInvalid and friends
            raise BadRow(1, None, f"not a valid Parquet file: {exc}") from None
        names = _file_columns(parquet.schema_arrow.names, table)
        line = 0
        for batch in parquet.iter_batches(BATCH_ROWS, columns=names):
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            for values in zip(*columns, strict=True):
                line += 1
                try:
                    yield line, rows.check([_text(v) for v in values], line)
                except BadRow as exc:
                    rejects.add(exc, repr(values))


def _file_columns(found: list[str], table: TableDef) -> list[str]:
    """The file's column names, in table order. Raises BadRow when one is missing."""
    by_column = {table.format.column_for(name): name for name in found}
    missing = [c.name for c in table.columns if c.name not in by_column]
    if missing:
        raise BadRow(1, None, f"the file has no column(s) {', '.join(missing)}")
    return [by_column[c.name] for c in table.columns]


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)
