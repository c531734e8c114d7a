"""The ``s3batch`` command: the one place that configures logging and maps errors to exit codes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from s3batch import __version__
from s3batch.cli.admin import jobs, logs, stack
from s3batch.cli.backfill import backfill
from s3batch.cli.datadir import data_dir_option
from s3batch.cli.demo import run_demo
from s3batch.cli.entry import configure_logging
from s3batch.cli.events import events
from s3batch.cli.remote import connection, port_option
from s3batch.cli.serve import serve
from s3batch.cli.trail import trail
from s3batch.config import DEFAULT_PORT, EXECUTORS, Settings
from s3batch.errors import S3BatchError
from s3batch.loader import main as loader_main

#: Exit codes.
EXIT_OK, EXIT_ERROR, EXIT_CONFIG = 0, 1, 2


def _settings(**flags: object) -> Settings:
    return Settings.load(os.environ, **flags)


def _fail(exc: BaseException) -> None:
    message = str(exc)
    cause = exc.__cause__
    while cause is not None:
        message += f"\n  caused by: {cause}"
        cause = cause.__cause__
    click.echo(f"error: {message}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="s3batch")
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
def cli(verbose: bool) -> None:
    """s3batch: S3 uploads -> event rules -> Batch jobs -> database loads, on one machine."""
    configure_logging(verbose)


@cli.command()
@click.option(
    "--stack",
    "stack_file",
    type=click.Path(path_type=Path),
    default=None,
    envvar="S3BATCH_STACK_FILE",
    show_envvar=True,
    help="Stack file (YAML) to start with.",
)
@data_dir_option
@click.option(
    "--host",
    default=None,
    envvar="S3BATCH_HOST",
    show_envvar=True,
    help="Address to listen on [default: 127.0.0.1]",
)
@click.option(
    "--port",
    type=int,
    default=None,
    envvar="S3BATCH_PORT",
    show_envvar=True,
    help=f"Port to listen on [default: {DEFAULT_PORT}]",
)
@click.option(
    "--executor",
    type=click.Choice(EXECUTORS),
    default=None,
    envvar="S3BATCH_EXECUTOR",
    show_envvar=True,
    help="How jobs run: local processes, or `docker run` of the definition's image [default: process]",
)
def up(
    stack_file: Path | None,
    data_dir: Path | None,
    host: str | None,
    port: int | None,
    executor: str | None,
) -> None:
    """Run every service on one port until interrupted."""
    settings = _settings(
        stack_file=stack_file, data_dir=data_dir, host=host, port=port, executor=executor
    )
    serve(settings, click.echo)


@cli.command()
@data_dir_option
@port_option
def env(data_dir: Path | None, port: int | None) -> None:
    """Print shell exports that point the aws CLI and boto3 at a local server."""
    conn = connection(data_dir, port)
    click.echo(f"export AWS_ENDPOINT_URL={conn.endpoint}")
    click.echo(f"export AWS_ACCESS_KEY_ID={conn.access_key_id}")
    click.echo(f"export AWS_SECRET_ACCESS_KEY={conn.secret_access_key}")
    click.echo(f"export AWS_DEFAULT_REGION={conn.region}")


@cli.command()
@click.option("--keep", is_flag=True, help="Keep the throwaway data dir and print where it is.")
def demo(keep: bool) -> None:
    """Run the seed scenario end to end on a throwaway data dir."""
    run_demo(click.echo, keep=keep)


@cli.command(
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "help_option_names": [],
    }
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def load(args: tuple[str, ...]) -> None:
    """The loader job: load an S3 object into tables (s3batch load --help).

    ``s3batch load ...`` itself skips this module (:mod:`s3batch.cli.entry`); this runs
    when options come first (``s3batch -v load ...``)."""
    sys.exit(loader_main(list(args)))


cli.add_command(backfill)
cli.add_command(jobs)
cli.add_command(logs)
cli.add_command(stack)
cli.add_command(events)
cli.add_command(trail)


def main() -> None:
    """Entry point of the console script."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(EXIT_ERROR)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except S3BatchError as exc:
        _fail(exc)
        sys.exit(EXIT_CONFIG)
    except OSError as exc:
        _fail(exc)
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_OK)
