"""The tables the loader knows when no stack file declares any: the tutorial's ``persons``."""

from __future__ import annotations

from s3batch.loader.tables import TableDef, parse_tables

#: The tutorial's table, as a stack file would declare it.
DEFAULT_TABLES_DOC = [
    {
        "tableName": "persons",
        "columns": [
            {"name": "id", "type": "varchar(10)", "primaryKey": True},
            {"name": "email", "type": "varchar(50)", "nullable": False},
            {"name": "state", "type": "varchar(3)", "nullable": False},
            {"name": "postal", "type": "numeric(10)", "nullable": False},
            {"name": "address", "type": "varchar(250)", "nullable": False},
        ],
        "format": {"type": "csv", "header": False, "delimiter": ","},
        "mode": "replace",
    }
]

#: The built-in tables, parsed.
DEFAULT_TABLES: tuple[TableDef, ...] = parse_tables(DEFAULT_TABLES_DOC, "built-in tables")
