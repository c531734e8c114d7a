"""The SQL a Redshift load runs, generated from the table definition (pure, no driver).

Redshift reads the object from S3 itself: ``COPY ... FROM 's3://bucket/key' IAM_ROLE ...
REGION ... FORMAT AS CSV ... MAXERROR n``. Every mode runs in one transaction:

* ``replace``: COPY into a new staging table, then ``DELETE`` the table's rows and
  ``INSERT`` the staged ones. DELETE (not TRUNCATE, which commits in Redshift) keeps the
  old rows visible to readers until the commit, and keeps grants, comments and views
  bound to the table (a rename swap would break schema-bound views).
* ``append``: COPY straight into the table (after the ledger check).
* ``upsert``: COPY into a temporary staging table, ``UPDATE`` rows whose values differ,
  then ``INSERT`` the new keys. Redshift has no ``ON CONFLICT`` and no
  ``IS DISTINCT FROM``, so the difference test spells out NULL handling.

Rows COPY refused are read from ``STL_LOAD_ERRORS`` for the job log.
"""

from __future__ import annotations

from s3batch.loader.errors import LoadConfigError
from s3batch.loader.sinks.schema import column_list, quoted
from s3batch.loader.tables import SqlType, TableDef

#: Suffix of the staging table.
STAGING_SUFFIX = "__s3batch_new"

#: Rows COPY refused in this session's last COPY.
LOAD_ERRORS = """
SELECT line_number, trim(colname), trim(err_reason), trim(raw_line)
FROM stl_load_errors
WHERE query = pg_last_copy_id()
ORDER BY line_number
"""


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def redshift_type(sql_type: SqlType) -> str:
    """A column type as Redshift spells it (``text`` is varchar(256) there: use the maximum)."""
    return "varchar(65535)" if sql_type.name == "text" else str(sql_type)


def copy_options(table: TableDef, *, gzip: bool, max_errors: int) -> str:
    """The format part of COPY for the table's file format. Raises LoadConfigError."""
    fmt = table.format
    if fmt.type == "parquet":
        return "FORMAT AS PARQUET"
    parts = ["FORMAT AS JSON 'auto'" if fmt.type == "jsonl" else _csv(table)]
    if gzip:
        parts.append("GZIP")
    parts += ["TIMEFORMAT 'auto'", "DATEFORMAT 'auto'", f"MAXERROR {max_errors}"]
    return " ".join(parts)


def _csv(table: TableDef) -> str:
    fmt = table.format
    if fmt.escape is not None and fmt.escape != fmt.quote:
        raise LoadConfigError(
            f"table {table.name}: Redshift's CSV format has no escape character "
            "(quotes are doubled); drop format.escape for Redshift targets"
        )
    parts = [f"FORMAT AS CSV DELIMITER {literal(fmt.delimiter)} QUOTE AS {literal(fmt.quote)}"]
    if fmt.header:
        parts.append("IGNOREHEADER 1")
    parts.append(f"NULL AS {literal(fmt.null if fmt.null is not None else '')}")
    if fmt.empty_as_null:
        parts.append("EMPTYASNULL")
    return " ".join(parts)


def copy(table: TableDef, into: str, url: str, iam_role: str, region: str, options: str) -> str:
    """``COPY into (columns) FROM url IAM_ROLE ... REGION ... <options>``."""
    columns = ", ".join(quoted(c.name) for c in table.columns)
    return (
        f"COPY {into} ({columns}) FROM {literal(url)} IAM_ROLE {literal(iam_role)} "
        f"REGION {literal(region)} {options}"
    )


def create_staging(table: TableDef, *, temporary: bool) -> str:
    """CREATE the staging table from the definition."""
    kind = "TEMPORARY TABLE" if temporary else "TABLE"
    staging = quoted(table.name + STAGING_SUFFIX)
    return f"CREATE {kind} {staging} ({column_list(table, redshift_type)})"


def create_table(table: TableDef) -> str:
    """CREATE TABLE IF NOT EXISTS from the definition (the key is informational in Redshift)."""
    keys = ", ".join(map(quoted, table.primary_key))
    pk = f", PRIMARY KEY ({keys})" if keys else ""
    return (
        f"CREATE TABLE IF NOT EXISTS {quoted(table.name)} ({column_list(table, redshift_type)}{pk})"
    )


def replace(table: TableDef) -> list[str]:
    """Make the staged rows the table's rows."""
    name, staging = quoted(table.name), quoted(table.name + STAGING_SUFFIX)
    return [
        f"DELETE FROM {name}",
        f"INSERT INTO {name} SELECT * FROM {staging}",
        f"DROP TABLE {staging}",
    ]


def upsert(table: TableDef) -> list[str]:
    """Update the rows whose values changed, then insert the new keys."""
    name, staging = quoted(table.name), quoted(table.name + STAGING_SUFFIX)
    keys = [quoted(k) for k in table.primary_key]
    others = [quoted(c.name) for c in table.columns if not c.primary_key]
    on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    statements = []
    if others:
        sets = ", ".join(f"{c} = s.{c}" for c in others)
        differ = " OR ".join(
            f"NOT (t.{c} = s.{c} OR (t.{c} IS NULL AND s.{c} IS NULL))" for c in others
        )
        statements.append(
            f"UPDATE {name} AS t SET {sets} FROM {staging} AS s WHERE {on} AND ({differ})"
        )
    first = keys[0]
    statements.append(
        f"INSERT INTO {name} SELECT s.* FROM {staging} AS s "
        f"LEFT JOIN {name} AS t ON {on} WHERE t.{first} IS NULL"
    )
    return statements
