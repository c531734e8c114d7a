"""Table definitions: parsing, canonical types, and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from s3batch.loader.default_tables import DEFAULT_TABLES
from s3batch.loader.tables import (
    Column,
    CsvFormat,
    SqlType,
    parse_table,
    parse_tables,
    parse_type,
    read_stack_tables,
)


def _doc(**overrides: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "tableName": "persons",
        "columns": [
            {"name": "id", "type": "varchar(10)", "primaryKey": True},
            {"name": "email", "type": "varchar(50)", "nullable": False},
            {"name": "postal", "type": "numeric(10)"},
        ],
        "format": {"type": "csv", "header": False, "delimiter": ","},
        "mode": "replace",
    }
    doc.update(overrides)
    return doc


def test_parses_a_table() -> None:
    table = parse_table(_doc(), "tables[0]")
    assert table.name == "persons"
    assert table.columns[0] == Column(
        "id", SqlType("varchar", length=10), nullable=False, primary_key=True
    )
    assert table.columns[1].not_null and not table.columns[2].not_null
    assert table.primary_key == ("id",)
    assert table.format == CsvFormat(",", False, '"')
    assert table.mode == "replace"


def test_the_built_in_table_is_the_tutorials() -> None:
    (persons,) = DEFAULT_TABLES
    assert [(c.name, str(c.type), c.not_null) for c in persons.columns] == [
        ("id", "varchar(10)", True),
        ("email", "varchar(50)", True),
        ("state", "varchar(3)", True),
        ("postal", "numeric(10)", True),
        ("address", "varchar(250)", True),
    ]
    assert persons.primary_key == ("id",)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("varchar(10)", "varchar(10)"),
        ("VARCHAR ( 10 )", "varchar(10)"),
        ("character varying(5)", "varchar(5)"),
        ("text", "text"),
        ("int", "integer"),
        ("integer", "integer"),
        ("bigint", "bigint"),
        ("smallint", "smallint"),
        ("numeric(10)", "numeric(10)"),
        ("numeric(10, 2)", "numeric(10,2)"),
        ("decimal(8,3)", "numeric(8,3)"),
        ("decimal", "numeric(18)"),
        ("real", "real"),
        ("double  precision", "double precision"),
        ("boolean", "boolean"),
        ("bool", "boolean"),
        ("date", "date"),
        ("timestamp", "timestamp"),
    ],
)
def test_type_spellings(text: str, canonical: str) -> None:
    assert str(parse_type(text)) == canonical


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("varchr(10)", "unsupported type 'varchr(10)'"),
        ("varchar", "varchar needs a length"),
        ("varchar(0)", "varchar needs a length"),
        ("numeric(39)", "1 <= p <= 38"),
        ("numeric(5,6)", "0 <= s <= p"),
        ("numeric(1,2,3)", "numeric(p)"),
        ("integer(4)", "integer takes no arguments"),
        ("varchar(x)", "whole numbers"),
        ("timestamptz", "unsupported type"),
    ],
)
def test_bad_types(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_type(text)


def test_error_names_the_field() -> None:
    columns = [
        {"name": "id", "type": "varchar(10)"},
        {"name": "email", "type": "varchar(50)"},
        {"name": "state", "type": "varchr(10)"},
    ]
    with pytest.raises(ValueError) as err:
        parse_tables([_doc(columns=columns)])
    assert str(err.value) == "tables[0].columns[2].type: unsupported type 'varchr(10)'"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"tableName": None}, "tables[0].tableName: required"),
        ({"tableName": "9lives"}, "tables[0].tableName: '9lives' is not a valid name"),
        ({"tableName": "a" * 51}, "at most 50 characters"),
        ({"columns": []}, "tables[0].columns: required, a non-empty list"),
        ({"columns": [{"name": "a"}]}, "tables[0].columns[0].type: required"),
        (
            {"columns": [{"name": "a", "type": "text", "size": 3}]},
            "tables[0].columns[0]: unknown field(s) size",
        ),
        (
            {"columns": [{"name": "a", "type": "text"}, {"name": "A", "type": "text"}]},
            "tables[0].columns[1].name: duplicate column 'a'",
        ),
        (
            {"columns": [{"name": "a", "type": "text", "primaryKey": True, "nullable": True}]},
            "tables[0].columns[0].nullable: a primary key column cannot be nullable",
        ),
        (
            {"columns": [{"name": "a", "type": "text", "nullable": "no"}]},
            "nullable: must be true or false",
        ),
        ({"format": {"type": "xml"}}, "tables[0].format.type: unsupported format 'xml'"),
        ({"format": {"escape": "ab"}}, "tables[0].format.escape: must be one character"),
        ({"format": {"null": 1}}, "tables[0].format.null: must be a string"),
        ({"format": {"emptyAsNull": "no"}}, "tables[0].format.emptyAsNull: must be true or"),
        ({"format": {"columnMap": {"E-mail": "e mail"}}}, "columnMap.E-mail: 'e mail' is not"),
        ({"maxErrors": -1}, "tables[0].maxErrors: must be a whole number >= 0"),
        ({"allowEmpty": "yes"}, "tables[0].allowEmpty: must be true or false"),
        (
            {"mode": "upsert", "columns": [{"name": "a", "type": "text"}]},
            "tables[0].mode: upsert needs a primary key column",
        ),
        ({"format": {"delimiter": ";;"}}, "tables[0].format.delimiter: must be one character"),
        ({"format": {"delimiter": '"'}}, "tables[0].format.quote: must differ from the delimiter"),
        ({"format": {"header": "yes"}}, "tables[0].format.header: must be true or false"),
        ({"mode": "merge"}, "tables[0].mode: unsupported mode 'merge'"),
        ({"extra": 1}, "tables[0]: unknown field(s) extra"),
    ],
)
def test_bad_tables(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_tables([_doc(**overrides)])
    assert message in str(err.value)


def test_names_fold_to_lower_case() -> None:
    table = parse_table(_doc(tableName="Persons", columns=[{"name": "ID", "type": "int"}]), "t")
    assert (table.name, table.columns[0].name) == ("persons", "id")


def test_duplicate_tables() -> None:
    with pytest.raises(ValueError, match=r"tables\[1\].tableName: duplicate table 'persons'"):
        parse_tables([_doc(), _doc()])


def test_read_stack_tables(tmp_path: Path) -> None:
    stack = tmp_path / "stack.yaml"
    stack.write_text(
        "buckets: [{Bucket: b}]\n"
        "tables:\n"
        "  - tableName: cities\n"
        "    columns: [{name: name, type: text, primaryKey: true}, {name: pop, type: bigint}]\n"
        "    format: {header: true, delimiter: ';'}\n"
    )
    (cities,) = read_stack_tables(stack) or ()
    assert cities.name == "cities" and cities.format == CsvFormat(";", True, '"')


def test_read_stack_without_tables(tmp_path: Path) -> None:
    stack = tmp_path / "stack.yaml"
    stack.write_text("buckets: [{Bucket: b}]\n")
    assert read_stack_tables(stack) is None


def test_read_stack_errors_name_the_file(tmp_path: Path) -> None:
    stack = tmp_path / "stack.yaml"
    stack.write_text("tables:\n  - tableName: t\n    columns: [{name: a, type: money}]\n")
    with pytest.raises(
        ValueError, match=r"stack.yaml: tables\[0\].columns\[0\].type: unsupported type 'money'"
    ):
        read_stack_tables(stack)
    stack.write_text("tables: [\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        read_stack_tables(stack)
