"""Reaching the running server of a data dir: its endpoint and key, and a Batch API client.

``s3batch env`` prints what :func:`connection` computes; the ``jobs submit|cancel|terminate``
commands call the server's Batch API with it, so every change goes through the server
that owns the data dir (its scheduler is woken, its rules are checked) instead of writing
the state file behind its back.
"""

from __future__ import annotations

import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import click
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from s3batch.config import Settings
from s3batch.credentials import CREDENTIALS_FILE
from s3batch.credentials import read as read_credentials
from s3batch.errors import ConfigError

#: Seconds to wait for the server's health answer before calling it not running.
HEALTH_TIMEOUT = 2.0

#: ``--port PORT`` (env ``S3BATCH_PORT``): where the data dir's server listens.
port_option = click.option(
    "--port",
    type=int,
    default=None,
    envvar="S3BATCH_PORT",
    show_envvar=True,
    help="The port the data dir's server listens on [default: 4566].",
)


@dataclass(frozen=True)
class Connection:
    """Where a data dir's server listens and the key it accepts."""

    endpoint: str
    access_key_id: str
    secret_access_key: str
    region: str


def connection(data_dir: Path | None, port: int | None) -> Connection:
    """The endpoint and key of the server of ``data_dir``, as ``s3batch up`` would use them.

    Raises:
        ConfigError: the data dir has no key (it was never started) and none is configured.
    """
    settings = Settings.load(os.environ, data_dir=data_dir, port=port)
    if settings.access_key_id and settings.secret_access_key:
        key, secret = settings.access_key_id, settings.secret_access_key
    else:
        path = settings.data_dir / CREDENTIALS_FILE
        if not path.exists():
            raise ConfigError(
                f"no s3batch key in {settings.data_dir} (start a server with: s3batch up --data-dir DIR)"
            )
        creds = read_credentials(path)
        key, secret = creds.access_key_id, creds.secret_access_key
    return Connection(settings.endpoint, key, secret, settings.region)


def batch_client(data_dir: Path | None, port: int | None) -> Any:
    """A boto3 Batch client of the running server of ``data_dir``.

    Raises:
        click.ClickException: no server answers at the data dir's endpoint.
    """
    conn = connection(data_dir, port)
    try:
        with urllib.request.urlopen(f"{conn.endpoint}/_s3batch/health", timeout=HEALTH_TIMEOUT):
            pass
    except OSError as exc:
        raise click.ClickException(
            f"no s3batch server is running at {conn.endpoint} ({exc}); start one with"
            " `s3batch up --data-dir DIR`, or pass the port it listens on with --port"
        ) from exc
    return boto3.client(
        "batch",
        endpoint_url=conn.endpoint,
        region_name=conn.region,
        aws_access_key_id=conn.access_key_id,
        aws_secret_access_key=conn.secret_access_key,
        config=Config(retries={"max_attempts": 1}),
    )


def call(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    """Call a Batch operation; its AWS error becomes a ClickException naming code and message.

    Raises:
        click.ClickException: the server refused the call or could not be reached.
    """
    try:
        result: dict[str, Any] = getattr(client, operation)(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Error"), error.get("Message", str(exc))
        if code in (
            "UnrecognizedClientException",
            "InvalidSignatureException",
            "InvalidAccessKeyId",
        ):
            message += " (is the server on this port running on another data dir?)"
        raise click.ClickException(f"{code}: {message}") from exc
    except BotoCoreError as exc:
        raise click.ClickException(str(exc)) from exc
    return result
