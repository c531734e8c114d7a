"""Read JSON lines: one JSON object per line, its keys naming the columns.

Keys are matched to columns by name (after the format's ``columnMap``); a missing key is
NULL, an unknown key rejects the row (a misspelt key would otherwise load NULLs).
Numbers keep the digits as written (no float rounding), booleans become true/false, and
nested objects or arrays are refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from s3batch.loader.errors import BadRow
from s3batch.loader.readers import ByteSource, Row, RowChecker, bad_utf8, text_lines
from s3batch.loader.rejects import Rejects
from s3batch.loader.tables import TableDef


def read_json_lines(
    raw: ByteSource, table: TableDef, rejects: Rejects
) -> Iterator[tuple[int, Row]]:
    """Checked rows of the JSON lines in ``raw``, with their line numbers. Raises BadRow."""
    rows = RowChecker(table)
    index = {c.name: i for i, c in enumerate(table.columns)}
    line = 0
    try:
        for line, text in enumerate(text_lines(raw), start=1):
            if not text.strip():
                continue
            try:
                yield line, rows.check(_values(text, table, index, line), line)
            except BadRow as exc:
                rejects.add(exc, text.rstrip("\r\n"))
    except UnicodeDecodeError as exc:
        raise bad_utf8(line + 1, exc) from None


def _values(text: str, table: TableDef, index: dict[str, int], line: int) -> list[str | None]:
    try:
        doc = json.loads(text, parse_float=str, parse_int=str, parse_constant=str)
    except ValueError as exc:
        raise BadRow(line, None, f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise BadRow(line, None, "not a JSON object")
    values: list[str | None] = [None] * len(index)
    for key, value in doc.items():
        column = table.format.column_for(key)
        if column not in index:
            raise BadRow(line, None, f"unknown field {json.dumps(key)}")
        values[index[column]] = _text(value, column, line)
    return values


def _text(value: object, column: str, line: int) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    raise BadRow(line, column, f"a nested {type(value).__name__} is not a column value")
