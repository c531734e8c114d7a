"""Access keys the server accepts: from the stack, the environment, or generated once.

When neither the stack nor ``S3BATCH_ACCESS_KEY_ID``/``S3BATCH_SECRET_ACCESS_KEY`` give a
key pair, the first start generates one and keeps it in ``<data-dir>/credentials.json``
(mode 0600), so the same key works across restarts.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from s3batch.errors import ConfigError

#: File in the data dir holding the generated key pair.
CREDENTIALS_FILE = "credentials.json"


@dataclass(frozen=True)
class Credentials:
    """An access key pair."""

    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:
        return f"Credentials(access_key_id={self.access_key_id!r}, secret_access_key='***')"


def generate() -> Credentials:
    """A new random key pair shaped like AWS's (AKIA + 16, and 40 characters)."""
    alphabet = string.ascii_uppercase + string.digits
    key_id = "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))
    secret = secrets.token_urlsafe(30)[:40]
    return Credentials(key_id, secret)


def read(path: Path) -> Credentials:
    """Read a key pair saved by :func:`resolve`. Raises ConfigError."""
    try:
        data = json.loads(path.read_text())
        return Credentials(data["AccessKeyId"], data["SecretAccessKey"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not a valid credentials file: {exc}") from exc


def _write(path: Path, creds: Credentials) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(
            {"AccessKeyId": creds.access_key_id, "SecretAccessKey": creds.secret_access_key}, f
        )
        f.flush()
        os.fsync(f.fileno())


def resolve(data_dir: Path, configured: list[Credentials]) -> tuple[list[Credentials], bool]:
    """The key pairs to accept, and whether one was generated just now."""
    if configured:
        return configured, False
    path = data_dir / CREDENTIALS_FILE
    if path.exists():
        return [read(path)], False
    creds = generate()
    _write(path, creds)
    return [creds], True
