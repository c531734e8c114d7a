"""File formats and CSV options: JSON lines, Parquet, escape, null string, header mapping."""

from __future__ import annotations

import dataclasses
import io

import pytest

from s3batch.loader.errors import BadRow, LoadConfigError
from s3batch.loader.readers import read_rows
from s3batch.loader.rejects import Rejects
from s3batch.loader.tables import TableDef, parse_table


def _table(fmt: dict[str, object] | None = None, **extra: object) -> TableDef:
    doc = {
        "tableName": "t",
        "columns": [
            {"name": "id", "type": "integer", "primaryKey": True},
            {"name": "name", "type": "varchar(10)"},
            {"name": "amount", "type": "numeric(10,2)"},
        ],
        "format": fmt or {},
        **extra,
    }
    return parse_table(doc, "t")


def _rows(
    data: str | bytes, table: TableDef, rejects: Rejects | None = None
) -> list[list[str | None]]:
    raw = data.encode() if isinstance(data, str) else data
    return list(read_rows(io.BytesIO(raw), table, rejects))


def test_json_lines_map_keys_to_columns() -> None:
    table = _table({"type": "jsonl", "columnMap": {"Full Name": "name"}})
    data = (
        '{"id": 1, "Full Name": "Ann", "amount": 12.50}\n'
        "\n"
        '{"amount": "3", "id": "2"}\r\n'
        '{"id": 3, "Full Name": null, "amount": 1e2}\n'
    )
    assert _rows(data, table) == [
        ["1", "Ann", "12.50"],
        ["2", None, "3.00"],
        ["3", None, "100.00"],
    ]


@pytest.mark.parametrize(
    ("line", "column", "reason"),
    [
        ("{not json}", None, "not valid JSON"),
        ("[1, 2]", None, "not a JSON object"),
        ('{"id": 1, "colour": "red"}', None, 'unknown field "colour"'),
        ('{"id": 1, "name": {"a": 1}}', "name", "a nested dict is not a column value"),
        ('{"id": null}', "id", "missing value (the column is NOT NULL)"),
        ('{"id": 1, "amount": "1.234"}', "amount", "more than 2 decimal places"),
        ('{"id": true}', "id", '"true" is not a valid integer'),
    ],
)
def test_json_lines_bad_rows(line: str, column: str | None, reason: str) -> None:
    with pytest.raises(BadRow) as err:
        _rows('{"id": 1}\n' + line + "\n", _table({"type": "jsonl"}))
    assert (err.value.line, err.value.column) == (2, column)
    assert reason in err.value.reason


def test_csv_escape_character() -> None:
    table = _table({"escape": "\\"})
    assert _rows('1,"say \\"hi\\"",1\n', table) == [["1", 'say "hi"', "1.00"]]


def test_csv_null_string_and_empty_strings() -> None:
    table = _table({"null": r"\N", "emptyAsNull": False})
    assert _rows('1,,\\N\n2,\\N,\n3,"",5\n', table) == [
        ["1", "", None],
        ["2", None, None],  # an empty numeric is always NULL
        ["3", "", "5.00"],
    ]
    assert _rows("1,,\n", _table()) == [["1", None, None]]  # emptyAsNull is the default


def test_csv_null_string_still_checks_not_null() -> None:
    with pytest.raises(BadRow, match=r'line 1, column "id": missing value'):
        _rows("\\N,a,1\n", _table({"null": r"\N"}))


def test_csv_header_maps_columns_by_name() -> None:
    table = _table({"header": True, "columnMap": {"Total (EUR)": "amount"}})
    assert _rows("Name,Total (EUR),ID\nAnn,1.5,7\n", table) == [["7", "Ann", "1.50"]]


def test_csv_header_must_name_every_column() -> None:
    with pytest.raises(BadRow, match="the header name, id does not match the columns id, name"):
        _rows("name,id\nAnn,1\n", _table({"header": True}))


def test_rejects_up_to_max_errors() -> None:
    table = _table(maxErrors=2)
    rejects = Rejects(table.max_errors)
    rows = _rows("1,a,1\nx,b,2\n3,c\n4,d,4\n", table, rejects)
    assert rows == [["1", "a", "1.00"], ["4", "d", "4.00"]]
    assert [(r.line, r.column) for r in rejects.items] == [(2, "id"), (3, None)]
    assert rejects.items[1].reason == 'expected 3 fields, found 2 (no "amount")'
    assert rejects.to_csv().decode().splitlines() == [
        "line,column,reason,record",
        '2,id,"""x"" is not a valid integer","x,b,2"',
        '3,,"expected 3 fields, found 2 (no ""amount"")","3,c"',
    ]


def test_one_more_than_max_errors_fails() -> None:
    table = _table(maxErrors=1)
    with pytest.raises(BadRow, match=r"\(2 bad rows, more than max_errors 1\)"):
        _rows("x,a,1\ny,b,2\n", table)


def test_parquet(tmp_path: object) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    buffer = io.BytesIO()
    data = pa.table({"ID": [1, 2, 3], "amount": [1.5, None, 2.25], "name": ["a", None, "c"]})
    pq.write_table(data, buffer)
    table = _table({"type": "parquet", "columnMap": {"ID": "id"}}, maxErrors=0)
    assert _rows(buffer.getvalue(), table) == [
        ["1", "a", "1.50"],
        ["2", None, None],
        ["3", "c", "2.25"],
    ]
    with pytest.raises(BadRow, match="not a valid Parquet file"):
        _rows(b"not parquet", table)


def test_parquet_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    table = dataclasses.replace(
        _table(), format=dataclasses.replace(_table().format, type="parquet")
    )
    with pytest.raises(LoadConfigError, match=r"pip install 's3batch\[parquet\]'"):
        _rows(b"", table)
