"""Table definitions: a table's columns and SQL types, and how its files are read.

Pure (standard library and PyYAML only): the stack module imports :func:`parse_table`
to validate the ``tables:`` section of a stack file, so errors name the field, e.g.
``tables[0].columns[2].type: unsupported type 'varchr(10)'``.

Names are folded to lower case, as unquoted SQL identifiers are. A bare ``numeric`` or
``decimal`` means ``numeric(18,0)`` (the SQL standard's scale 0 with Redshift's default
precision), so every target stores exactly the same values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

#: Longest table or column name: PostgreSQL's 63-byte identifiers, less the 13 characters
#: of the staging suffix a sink appends to a table name.
MAX_NAME = 50

#: Load modes. ``replace``: the file becomes the table's whole content; ``append``: its
#: rows are added, once per object version (the ledger remembers); ``upsert``: its rows
#: are merged on the primary key, unchanged rows left untouched.
MODES = ("replace", "append", "upsert")
#: File formats: CSV, JSON lines (one object per line), Parquet (needs pyarrow).
FORMATS = ("csv", "jsonl", "parquet")

Mode = Literal["replace", "append", "upsert"]
FormatType = Literal["csv", "jsonl", "parquet"]

_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_TYPE = re.compile(r"(?P<name>[a-z][a-z ]*?)\s*(?:\(\s*(?P<args>[^)]*?)\s*\))?")

#: Accepted spellings → canonical type name.
_ALIASES = {
    "varchar": "varchar",
    "character varying": "varchar",
    "text": "text",
    "integer": "integer",
    "int": "integer",
    "bigint": "bigint",
    "smallint": "smallint",
    "numeric": "numeric",
    "decimal": "numeric",
    "real": "real",
    "double precision": "double precision",
    "boolean": "boolean",
    "bool": "boolean",
    "date": "date",
    "timestamp": "timestamp",
    "timestamp without time zone": "timestamp",
}

#: Longest varchar (Redshift's limit; PostgreSQL and DuckDB allow more).
MAX_VARCHAR = 65535
#: Largest numeric precision every target supports (DuckDB and Redshift: 38).
MAX_PRECISION = 38
#: Precision of a bare ``numeric`` / ``decimal``.
DEFAULT_PRECISION = 18


@dataclass(frozen=True)
class SqlType:
    """A column's SQL type in canonical form; ``str()`` gives its SQL spelling."""

    name: str
    length: int | None = None
    precision: int | None = None
    scale: int = 0

    def __str__(self) -> str:
        if self.name == "varchar":
            return f"varchar({self.length})"
        if self.name == "numeric":
            tail = f",{self.scale}" if self.scale else ""
            return f"numeric({self.precision}{tail})"
        return self.name


@dataclass(frozen=True)
class Column:
    """One column of a table."""

    name: str
    type: SqlType
    nullable: bool = True
    primary_key: bool = False

    @property
    def not_null(self) -> bool:
        """Whether the column rejects empty values (primary key columns always do)."""
        return self.primary_key or not self.nullable


@dataclass(frozen=True)
class CsvFormat:
    """How a file is read. CSV: UTF-8 (a BOM is skipped), CRLF or LF line ends.

    ``escape`` is the character that escapes a quote inside a quoted field (default: the
    quote doubled); a field equal to ``null`` is NULL; ``empty_as_null`` makes an empty
    field NULL (otherwise it is an empty string in text columns; in other types an empty
    field is always NULL). ``column_map`` renames header names (CSV) or keys (JSON lines)
    to column names. Column mapping is by position without a header, by name with one.
    """

    delimiter: str = ","
    header: bool = False
    quote: str = '"'
    type: FormatType = "csv"
    escape: str | None = None
    null: str | None = None
    empty_as_null: bool = True
    column_map: tuple[tuple[str, str], ...] = ()

    def column_for(self, name: str) -> str:
        """The column a header name or JSON key stands for."""
        return dict(self.column_map).get(name, name.strip().lower())


@dataclass(frozen=True)
class TableDef:
    """A table the loader can fill: its columns, file format and load mode."""

    name: str
    columns: tuple[Column, ...]
    format: CsvFormat = CsvFormat()
    mode: Mode = "replace"
    #: How many bad rows a load may skip (they go to the rejects file); 0: any fails it.
    max_errors: int = 0
    #: Whether a ``replace`` load of a file with no rows may empty the table (else it fails).
    allow_empty: bool = False

    @property
    def primary_key(self) -> tuple[str, ...]:
        """Names of the primary key columns, in table order (empty if none)."""
        return tuple(c.name for c in self.columns if c.primary_key)


def parse_type(text: str) -> SqlType:
    """Parse a type spelling such as ``varchar(10)`` or ``numeric(10, 2)``. Raises ValueError."""
    match = _TYPE.fullmatch(" ".join(text.lower().split()))
    name = _ALIASES.get(match["name"]) if match else None
    if match is None or name is None:
        raise ValueError(f"unsupported type {text!r}")
    args = [a.strip() for a in match["args"].split(",")] if match["args"] is not None else []
    if not all(a.isdigit() for a in args):
        raise ValueError(f"unsupported type {text!r}: arguments must be whole numbers")
    return _with_args(name, [int(a) for a in args], text)


def _with_args(name: str, args: list[int], text: str) -> SqlType:
    if name == "varchar":
        if len(args) != 1 or not 1 <= args[0] <= MAX_VARCHAR:
            raise ValueError(f"{text!r}: varchar needs a length from 1 to {MAX_VARCHAR}")
        return SqlType(name, length=args[0])
    if name == "numeric":
        precision = args[0] if args else DEFAULT_PRECISION
        scale = args[1] if len(args) == 2 else 0
        if len(args) > 2 or not 1 <= precision <= MAX_PRECISION or not 0 <= scale <= precision:
            raise ValueError(
                f"{text!r}: numeric needs numeric(p) or numeric(p,s) with 1 <= p <= "
                f"{MAX_PRECISION} and 0 <= s <= p"
            )
        return SqlType(name, precision=precision, scale=scale)
    if args:
        raise ValueError(f"{text!r}: {name} takes no arguments")
    return SqlType(name)


def _name(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}: required, a non-empty string")
    name = value.lower()
    if not _NAME.fullmatch(name) or len(name) > MAX_NAME:
        raise ValueError(
            f"{where}: {value!r} is not a valid name (letters, digits and _, not starting "
            f"with a digit, at most {MAX_NAME} characters)"
        )
    return name


def _flag(doc: dict[str, Any], key: str, default: bool, where: str) -> bool:
    value = doc.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{where}.{key}: must be true or false")
    return value


def _only(doc: object, known: set[str], where: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise ValueError(f"{where}: must be a mapping")
    unknown = sorted(set(doc) - known)
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}")
    return doc


def parse_column(doc: object, where: str) -> Column:
    """Validate one entry of a table's ``columns`` list. Raises ValueError naming the field."""
    item = _only(doc, {"name", "type", "primaryKey", "nullable"}, where)
    name = _name(item.get("name"), f"{where}.name")
    type_text = item.get("type")
    if not isinstance(type_text, str):
        raise ValueError(f"{where}.type: required, a string such as 'varchar(50)'")
    try:
        sql_type = parse_type(type_text)
    except ValueError as exc:
        raise ValueError(f"{where}.type: {exc}") from None
    primary = _flag(item, "primaryKey", False, where)
    nullable = _flag(item, "nullable", not primary, where)
    if primary and nullable:
        raise ValueError(f"{where}.nullable: a primary key column cannot be nullable")
    return Column(name, sql_type, nullable=nullable, primary_key=primary)


_FORMAT_FIELDS = {
    "type", "header", "delimiter", "quote", "escape", "null", "emptyAsNull", "columnMap",
}  # fmt: skip


def parse_format(doc: object, where: str) -> CsvFormat:
    """Validate a table's ``format`` mapping. Raises ValueError naming the field."""
    item = _only(doc, _FORMAT_FIELDS, where)
    kind = item.get("type", "csv")
    if kind not in FORMATS:
        raise ValueError(f"{where}.type: unsupported format {kind!r} (known: {', '.join(FORMATS)})")
    delimiter, quote = item.get("delimiter", ","), item.get("quote", '"')
    escape = item.get("escape")
    for key, value in (("delimiter", delimiter), ("quote", quote), ("escape", escape or "\\")):
        if not isinstance(value, str) or len(value) != 1 or value in "\r\n":
            raise ValueError(f"{where}.{key}: must be one character (not a line break)")
    if delimiter == quote:
        raise ValueError(f"{where}.quote: must differ from the delimiter")
    null = item.get("null")
    if null is not None and not isinstance(null, str):
        raise ValueError(f"{where}.null: must be a string")
    return CsvFormat(
        delimiter, _flag(item, "header", False, where), quote, kind, escape, null,
        _flag(item, "emptyAsNull", True, where), _column_map(item.get("columnMap", {}), where),
    )  # fmt: skip


def _column_map(doc: object, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(doc, dict) or not all(isinstance(k, str) for k in doc):
        raise ValueError(f"{where}.columnMap: must map header names to column names")
    return tuple((k, _name(v, f"{where}.columnMap.{k}")) for k, v in doc.items())


def parse_table(doc: object, where: str) -> TableDef:
    """Validate one entry of a stack file's ``tables`` list. Raises ValueError naming the field."""
    item = _only(doc, {"tableName", "columns", "format", "mode", "maxErrors", "allowEmpty"}, where)
    name = _name(item.get("tableName"), f"{where}.tableName")
    raw_columns = item.get("columns")
    if not isinstance(raw_columns, list) or not raw_columns:
        raise ValueError(f"{where}.columns: required, a non-empty list")
    columns = tuple(parse_column(c, f"{where}.columns[{i}]") for i, c in enumerate(raw_columns))
    seen: set[str] = set()
    for i, column in enumerate(columns):
        if column.name in seen:
            raise ValueError(f"{where}.columns[{i}].name: duplicate column {column.name!r}")
        seen.add(column.name)
    fmt = parse_format(item.get("format", {}), f"{where}.format")
    mode = item.get("mode", "replace")
    if mode not in MODES:
        raise ValueError(f"{where}.mode: unsupported mode {mode!r} (known: {', '.join(MODES)})")
    if mode == "upsert" and not any(c.primary_key for c in columns):
        raise ValueError(f"{where}.mode: upsert needs a primary key column")
    max_errors = item.get("maxErrors", 0)
    if not isinstance(max_errors, int) or isinstance(max_errors, bool) or max_errors < 0:
        raise ValueError(f"{where}.maxErrors: must be a whole number >= 0")
    return TableDef(name, columns, fmt, mode, max_errors, _flag(item, "allowEmpty", False, where))


def parse_tables(doc: object, where: str = "tables") -> tuple[TableDef, ...]:
    """Validate a stack file's ``tables`` list. Raises ValueError naming the field."""
    if not isinstance(doc, list):
        raise ValueError(f"{where}: must be a list of tables")
    tables = tuple(parse_table(t, f"{where}[{i}]") for i, t in enumerate(doc))
    names = [t.name for t in tables]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ValueError(f"{where}[{i}].tableName: duplicate table {name!r}")
    return tables


def read_stack_tables(path: Path) -> tuple[TableDef, ...] | None:
    """The tables a stack file declares, or None when it has no ``tables`` section.

    Raises:
        OSError: the file cannot be read.
        ValueError: the file is not YAML or a table is not valid (the message names it).
    """
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    if doc is None or (isinstance(doc, dict) and "tables" not in doc):
        return None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: a stack file must be a mapping at the top level")
    return parse_tables(doc["tables"], f"{path}: tables")
