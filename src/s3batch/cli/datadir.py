"""The ``--data-dir`` option and opening a server's state from it (for the admin commands)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from s3batch.config import DEFAULT_DATA_DIR, Settings
from s3batch.errors import ConfigError
from s3batch.runtime import Services, open_state
from s3batch.state.db import Database

#: ``--data-dir DIR`` (env ``S3BATCH_DATA_DIR``), shared by every subcommand.
data_dir_option = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    envvar="S3BATCH_DATA_DIR",
    show_envvar=True,
    help=f"Where state and objects live [default: {DEFAULT_DATA_DIR}]",
)


def open_data_dir(data_dir: Path | None) -> tuple[Database, Services]:
    """Open an existing data dir's state. Raises ConfigError when there is none."""
    settings = Settings.load(os.environ, data_dir=data_dir)
    if not (settings.data_dir / "state.db").exists():
        raise ConfigError(
            f"no s3batch state in {settings.data_dir} (start one with: s3batch up --data-dir DIR)"
        )
    return open_state(settings)
