"""Where each target database is and how to log in: read from a Secrets Manager secret.

A secret's SecretString is JSON naming its engine, the shape RDS and Secrets Manager use:
``{"engine": "postgres", "host", "port", "username", "password", "dbname"}`` (extra keys
such as ``dbInstanceIdentifier`` are ignored, ``sslmode`` is passed on),
``{"engine": "duckdb", "path"}``, ``{"engine": "sqlite", "path"}``, or ``{"engine":
"redshift", "host", "port", "username", "password", "dbname", "iamRole", "region"}`` (Redshift reads the object from S3 itself,
with the IAM role). A password never appears in a message or a repr: :func:`scrub` masks
it wherever driver error text holds it. The user name is no secret (RDS shows it in its
console) and is masked only where a message names it as the login (``user "s3batch"``,
``role "s3batch"``, ``user=s3batch``): masking it everywhere garbled every message in which
the name happens to appear, e.g. ``COPY persons__***_new`` for the user ``s3batch``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from s3batch.loader.errors import LoadConfigError, LoaderError

#: Spellings of the PostgreSQL engine name.
POSTGRES_ENGINES = frozenset({"postgres", "postgresql", "aurora-postgresql"})
#: Every engine a secret may name for the loader.
ENGINES = POSTGRES_ENGINES | {"duckdb", "sqlite", "redshift"}
#: What replaces a secret value in a message.
MASK = "***"
#: Seconds to wait for a PostgreSQL server to accept a connection.
CONNECT_TIMEOUT = 10

#: What :func:`scrub` masks: a string wherever it appears, or a pattern's match after its
#: first group (:func:`login`).
Hidden = str | re.Pattern[str]


class SecretsClient(Protocol):
    """The one Secrets Manager call the loader makes (a boto3 client has it)."""

    def get_secret_value(self, *, SecretId: str) -> Mapping[str, Any]:  # noqa: N803 - boto3's name
        """Return the secret, with its value in ``SecretString``."""
        ...


@dataclass(frozen=True)
class PostgresTarget:
    """A PostgreSQL database to load into."""

    secret_id: str
    host: str
    port: int
    dbname: str
    username: str = field(repr=False)
    password: str = field(repr=False)
    sslmode: str | None = None

    @property
    def label(self) -> str:
        """How logs name the target (never the user or password)."""
        return f"postgres db {self.dbname} on {self.host}:{self.port}"

    def hidden(self) -> tuple[Hidden, ...]:
        """What messages must not show: the password, and the user name as the login."""
        return (self.password, login(self.username))

    def connect_params(self) -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect`` (they hold the password: never log them)."""
        params: dict[str, Any] = {
            "host": self.host, "port": self.port, "dbname": self.dbname, "user": self.username,
            "password": self.password, "connect_timeout": CONNECT_TIMEOUT,
            "application_name": "s3batch-loader", "client_encoding": "UTF8",
        }  # fmt: skip
        if self.sslmode:
            params["sslmode"] = self.sslmode
        return params


@dataclass(frozen=True)
class _FileTarget:
    """A database in a local file, opened without a login."""

    #: The engine's name, as logs show it.
    engine: ClassVar[str]

    secret_id: str
    path: str

    @property
    def label(self) -> str:
        """How logs name the target."""
        return f"{self.engine} {self.path}"

    def hidden(self) -> tuple[Hidden, ...]:
        """What messages must not show (nothing)."""
        return ()


@dataclass(frozen=True)
class DuckDBTarget(_FileTarget):
    """A DuckDB database file to load into."""

    engine: ClassVar[str] = "duckdb"


@dataclass(frozen=True)
class SqliteTarget(_FileTarget):
    """A SQLite database file to load into."""

    engine: ClassVar[str] = "sqlite"


@dataclass(frozen=True)
class RedshiftTarget:
    """A Redshift cluster: COPY reads the object from S3 with ``iam_role``."""

    secret_id: str
    host: str
    port: int
    dbname: str
    username: str = field(repr=False)
    password: str = field(repr=False)
    iam_role: str
    region: str

    @property
    def label(self) -> str:
        """How logs name the target (never the user or password)."""
        return f"redshift db {self.dbname} on {self.host}:{self.port}"

    def hidden(self) -> tuple[Hidden, ...]:
        """What messages must not show: the password, and the user name as the login."""
        return (self.password, login(self.username))


#: Any target.
Target = PostgresTarget | DuckDBTarget | SqliteTarget | RedshiftTarget


def login(username: str) -> re.Pattern[str]:
    """Where a message names ``username`` as the login: ``user "bob"``, ``role 'bob'``, ``user=bob``."""
    return re.compile(
        rf"""(\b(?i:user|role)(?:\s*=\s*|\s+)(["']?)){re.escape(username)}(?=\2)(?![\w$])"""
    )


def scrub(text: str, hidden: tuple[Hidden, ...]) -> str:
    """``text`` with each hidden string (longest first) and pattern match replaced by ``***``."""
    for pattern in (h for h in hidden if isinstance(h, re.Pattern)):
        text = pattern.sub(rf"\g<1>{MASK}", text)
    for value in sorted((h for h in hidden if isinstance(h, str) and h), key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def fetch_target(client: SecretsClient, secret_id: str) -> Target:
    """Fetch secret ``secret_id`` and read the target it describes.

    Raises:
        LoaderError: the secret cannot be fetched.
        LoadConfigError: the secret does not describe a supported target.
    """
    try:
        response = client.get_secret_value(SecretId=secret_id)
    except Exception as exc:  # botocore's errors name the secret id, never its value
        raise LoaderError(f"cannot read secret {secret_id}: {exc}") from None
    text = response.get("SecretString")
    if not isinstance(text, str):
        raise LoadConfigError(
            f"secret {secret_id}: SecretString is missing (binary secrets are not supported)"
        )
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise LoadConfigError(f"secret {secret_id}: SecretString is not a JSON object")
    return parse_target(secret_id, doc)


def parse_target(secret_id: str, doc: Mapping[str, Any]) -> Target:
    """The target a secret's JSON describes. Raises LoadConfigError (naming only field names)."""
    engine = doc.get("engine")
    if engine in POSTGRES_ENGINES:
        return _postgres(secret_id, doc)
    if engine == "duckdb":
        return DuckDBTarget(secret_id, _string(doc, "path", secret_id))
    if engine == "sqlite":
        return SqliteTarget(secret_id, _string(doc, "path", secret_id))
    if engine == "redshift":
        return _redshift(secret_id, doc)
    raise LoadConfigError(
        f"secret {secret_id}: engine must be 'postgres', 'duckdb', 'sqlite' or 'redshift'"
        + ("" if engine is None else f", not {engine!r}" if isinstance(engine, str) else "")
    )


def _redshift(secret_id: str, doc: Mapping[str, Any]) -> RedshiftTarget:
    return RedshiftTarget(
        secret_id,
        host=_string(doc, "host", secret_id),
        port=_port(secret_id, doc.get("port", 5439)),
        dbname=_string(doc, "dbname", secret_id),
        username=_string(doc, "username", secret_id),
        password=_string(doc, "password", secret_id, allow_empty=True),
        iam_role=_string(doc, "iamRole", secret_id),
        region=_string(doc, "region", secret_id),
    )


def _port(secret_id: str, port: object) -> int:
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise LoadConfigError(f"secret {secret_id}: port must be a number from 1 to 65535")
    return port


def _postgres(secret_id: str, doc: Mapping[str, Any]) -> PostgresTarget:
    port = doc.get("port", 5432)
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise LoadConfigError(f"secret {secret_id}: port must be a number from 1 to 65535")
    sslmode = doc.get("sslmode")
    if sslmode is not None and not isinstance(sslmode, str):
        raise LoadConfigError(f"secret {secret_id}: sslmode must be a string")
    return PostgresTarget(
        secret_id,
        host=_string(doc, "host", secret_id),
        port=port,
        dbname=_string(doc, "dbname", secret_id),
        username=_string(doc, "username", secret_id),
        password=_string(doc, "password", secret_id, allow_empty=True),
        sslmode=sslmode,
    )


def _string(doc: Mapping[str, Any], key: str, secret_id: str, allow_empty: bool = False) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or (not value and not allow_empty):
        raise LoadConfigError(f"secret {secret_id}: '{key}' is required and must be a string")
    return value
