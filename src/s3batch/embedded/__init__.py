"""Databases ``s3batch up`` provides when the stack names none: PostgreSQL and a DuckDB file.

Each gives the JSON a Secrets Manager secret holds for it, in the shape RDS uses
(``engine``, ``host``, ``port``, ``username``, ``password``, ``dbname``), so the loader
connects to them exactly as it connects to real databases. Only the standard library and
subprocesses are used here.
"""

from __future__ import annotations

from s3batch.embedded.duckdb import warehouse_secret
from s3batch.embedded.postgres import EmbeddedPostgres, EmbeddedPostgresError

__all__ = ["EmbeddedPostgres", "EmbeddedPostgresError", "warehouse_secret"]
