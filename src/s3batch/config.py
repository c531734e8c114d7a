"""Settings: loaded once from ``S3BATCH_*`` environment variables and flags, then passed down.

This is the only module that reads the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from s3batch.errors import ConfigError

#: Where state lives when no --data-dir is given.
DEFAULT_DATA_DIR = Path(".s3batch")
#: Job executors ``up`` can use.
EXECUTORS = ("process", "docker")
#: The port LocalStack made familiar for local AWS endpoints.
DEFAULT_PORT = 4566


@dataclass(frozen=True)
class Settings:
    """Everything a server needs to start."""

    data_dir: Path = DEFAULT_DATA_DIR
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    stack_file: Path | None = None
    region: str = "us-east-1"
    #: The 12-digit account id that appears in ARNs and events.
    account_id: str = "000000000000"
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    #: The least ``timeout.attemptDurationSeconds`` the Batch API accepts (AWS: 60; lower for tests).
    min_timeout_seconds: int = 60
    #: How jobs run: ``process`` (local processes) or ``docker`` (the definition's image).
    executor: str = "process"
    #: The environment the settings were read from (``${env:NAME}`` in stacks, jobs' PATH/HOME).
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def endpoint(self) -> str:
        """The URL clients on this machine reach the server at (a wildcard host → loopback)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @classmethod
    def load(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Read ``S3BATCH_<FIELD>`` from ``environ``; non-None ``overrides`` (flags) win.

        Raises:
            ConfigError: a value has the wrong form.
        """
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "environ":
                continue
            raw = environ.get(f"S3BATCH_{f.name.upper()}")
            if overrides.get(f.name) is not None:
                values[f.name] = overrides[f.name]
            elif raw:
                values[f.name] = raw
        settings = cls(**values, environ=dict(environ))
        return settings._coerced()

    def _coerced(self) -> Settings:
        try:
            port = int(self.port)
        except ValueError as exc:
            raise ConfigError(f"S3BATCH_PORT must be a number, not {self.port!r}") from exc
        if not 0 <= port <= 65535:
            raise ConfigError(f"port must be between 0 and 65535, not {port}")
        if bool(self.access_key_id) != bool(self.secret_access_key):
            raise ConfigError(
                "set both S3BATCH_ACCESS_KEY_ID and S3BATCH_SECRET_ACCESS_KEY, or neither"
            )
        stack = Path(self.stack_file) if self.stack_file else None
        try:
            min_timeout = int(self.min_timeout_seconds)
        except ValueError as exc:
            raise ConfigError(
                f"S3BATCH_MIN_TIMEOUT_SECONDS must be a number, not {self.min_timeout_seconds!r}"
            ) from exc
        if min_timeout < 1:
            raise ConfigError("S3BATCH_MIN_TIMEOUT_SECONDS must be at least 1")
        if self.executor not in EXECUTORS:
            raise ConfigError(
                f"S3BATCH_EXECUTOR must be one of {', '.join(EXECUTORS)}, not {self.executor!r}"
            )
        return Settings(
            Path(self.data_dir),
            self.host,
            port,
            stack,
            self.region,
            self.account_id,
            self.access_key_id,
            self.secret_access_key,
            min_timeout,
            self.executor,
            self.environ,
        )
