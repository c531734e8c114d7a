"""Compare a table found in a database with its definition, for every sink alike."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from s3batch.loader.errors import SchemaMismatch
from s3batch.loader.tables import SqlType, TableDef

#: A column as a database catalog reports it: name, type spelling, NOT NULL.
FoundColumn = tuple[str, str, bool]


def differences(
    table: TableDef,
    found: Sequence[FoundColumn],
    primary_key: Sequence[str],
    spell: Callable[[SqlType], str],
) -> list[str]:
    """How the found table differs from ``table``, one phrase per difference (empty if none).

    ``spell`` gives a type as the catalog spells it, e.g. ``character varying(10)``.
    """
    problems = []
    if len(found) != len(table.columns):
        problems.append(f"it has {len(found)} columns, expected {len(table.columns)}")
    for i, (column, (name, type_, not_null)) in enumerate(zip(table.columns, found, strict=False)):
        if name != column.name:
            problems.append(f'column {i + 1} is "{name}", expected "{column.name}"')
            continue
        if type_ != spell(column.type):
            problems.append(f'column "{name}" is {type_}, expected {spell(column.type)}')
        if not_null != column.not_null:
            now, expected = (
                ("nullable", "NOT NULL") if column.not_null else ("NOT NULL", "nullable")
            )
            problems.append(f'column "{name}" is {now}, expected {expected}')
    if set(primary_key) != set(table.primary_key):
        problems.append(
            f"its primary key is ({', '.join(primary_key)}), expected ({', '.join(table.primary_key)})"
        )
    return problems


def mismatch(label: str, table: TableDef, problems: list[str]) -> SchemaMismatch:
    """The error for an existing table that does not match its definition."""
    return SchemaMismatch(
        f"table {table.name} in {label} does not match its definition: {'; '.join(problems)} "
        "(alter or drop the table, or change the table definition)"
    )


def quoted(name: str) -> str:
    """A definition's name as a quoted SQL identifier (names are [a-z_][a-z0-9_]*)."""
    if not name.replace("_", "a").isalnum() or not name.isascii() or name != name.lower():
        raise ValueError(f"not a valid name: {name!r}")
    return f'"{name}"'


def column_list(table: TableDef, spell: Callable[[SqlType], str]) -> str:
    """The column part of CREATE TABLE, without constraints other than NOT NULL."""
    return ", ".join(
        f"{quoted(c.name)} {spell(c.type)}{' NOT NULL' if c.not_null else ''}"
        for c in table.columns
    )


def literal(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
