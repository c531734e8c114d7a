"""A real PostgreSQL for tests, on the embedded server ``s3batch up`` uses.

Importable helper (not a conftest): with ``tests`` on ``sys.path``::

    from pg import create_database, start_postgres

    @pytest.fixture(scope="session")
    def postgres(tmp_path_factory):
        secret, stop = start_postgres(tmp_path_factory.mktemp("pg"))
        yield secret
        stop()

The secret is the dict a Secrets Manager secret holds for RDS: ``engine``, ``host``,
``port``, ``username``, ``password``, ``dbname``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from s3batch.embedded import EmbeddedPostgres

Secret = dict[str, Any]


def start_postgres(tmp_dir: Path) -> tuple[Secret, Callable[[], None]]:
    """Start a PostgreSQL server with its data in ``tmp_dir``; its secret and a stop function."""
    server = EmbeddedPostgres(Path(tmp_dir))
    return server.start(), server.stop


def conninfo(secret: Secret) -> dict[str, Any]:
    """psycopg ``connect`` arguments for a secret."""
    return {
        "host": secret["host"],
        "port": secret["port"],
        "user": secret["username"],
        "password": secret["password"],
        "dbname": secret["dbname"],
    }


def connect(secret: Secret) -> psycopg.Connection[Any]:
    """A psycopg connection (autocommit off) to the secret's database."""
    return psycopg.connect(**conninfo(secret))


def create_database(secret: Secret, name: str | None = None) -> Secret:
    """A new empty database on the same server (one per test); the secret naming it."""
    name = name or f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**conninfo(secret), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return {**secret, "dbname": name}
