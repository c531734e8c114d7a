"""The loader's command line: ``load --bucket B --key K --table T --target SECRET_ID ...``.

Runs as an AWS Batch container's command would: botocore (boto3's core: the clients
alone, without boto3's resource layer and transfer manager, ~0.1 s less to start) finds
the endpoint (``AWS_ENDPOINT_URL``), region and credentials in the environment. Progress goes to
stdout (it becomes the job log) as plain lines, above a progress bar when stdout is a
terminal (:mod:`s3batch.loader.progress`); a failure prints one ``load failed: ...``
line on stderr and returns a non-zero exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import botocore.session

from s3batch.loader.default_tables import DEFAULT_TABLES
from s3batch.loader.download import human_size
from s3batch.loader.errors import LoadConfigError, LoaderError, PartialCommit
from s3batch.loader.job import Clients, LoadRequest, SinkFactory, load
from s3batch.loader.progress import display_for
from s3batch.loader.sinks import open_sink
from s3batch.loader.tables import FORMATS, MODES, TableDef, read_stack_tables

#: Exit codes: success; the load failed (bad data, S3 or a database); bad usage or configuration.
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

#: Environment variable naming the stack file when ``--stack`` is not given.
STACK_ENV = "S3BATCH_STACK_FILE"
#: Environment variable AWS Batch sets to the job's id (recorded in the ledger).
JOB_ID_ENV = "AWS_BATCH_JOB_ID"


def build_parser() -> argparse.ArgumentParser:
    """The ``load`` command's arguments."""
    parser = argparse.ArgumentParser(
        prog="s3batch load",
        description=(
            "Load a CSV, JSON lines or Parquet object from S3 into a table of one or more "
            "databases, all or nothing."
        ),
    )
    parser.add_argument("--bucket", required=True, help="S3 bucket of the object")
    parser.add_argument("--key", required=True, help="S3 key of the object")
    parser.add_argument("--table", required=True, help="table to load (defined in the stack file)")
    parser.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="SECRET_ID",
        help="Secrets Manager secret naming a database to load (repeatable)",
    )
    parser.add_argument(
        "--stack",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"stack file with the table definitions [env: {STACK_ENV}; default: built-in tables]",
    )
    parser.add_argument(
        "--mode", choices=MODES, default=None, help="load mode [default: the table's]"
    )
    parser.add_argument(
        "--format", choices=FORMATS, default=None, help="file format [default: the table's]"
    )
    parser.add_argument(
        "--max-errors",
        type=_count,
        default=None,
        metavar="N",
        help="bad rows to skip before the load fails [default: the table's, else 0]",
    )
    parser.add_argument(
        "--allow-empty",
        action="store_true",
        help="let a replace load of a file with no rows empty the table [default: the table's]",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="append even if the ledger says this object version was appended already",
    )
    return parser


def job_options(command: Sequence[str]) -> argparse.Namespace | None:
    """The load options of a job's command when it runs the loader, else None.

    The loader runs as ``s3batch load ...``, ``python -m s3batch load ...`` or ``python -m
    s3batch.loader [load] ...``. A loader command with bad options gives None too (the job
    will fail with the usage error when it runs).
    """
    args = _loader_args(list(command))
    if args is None:
        return None
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return parse(args[1:] if args[:1] == ["load"] else args)
    except SystemExit:
        return None


def parse(args: list[str]) -> argparse.Namespace:
    """The loader's options. The word after ``--key`` is the key even when it starts with
    ``-`` (``-report.csv`` is an S3 key; argparse would take it for an option).

    Raises:
        SystemExit: argparse printed the usage or the help.
    """
    joined: list[str] = []
    words = iter(args)
    for word in words:
        value = next(words, None) if word == "--key" else None
        joined.append(word if value is None else f"--key={value}")
    return build_parser().parse_args(joined)


def _loader_args(command: list[str]) -> list[str] | None:
    for i, word in enumerate(command):
        if Path(word).name == "s3batch" and command[i + 1 : i + 2] == ["load"]:
            return command[i + 2 :]
        if word == "-m" and command[i + 1 : i + 2] == ["s3batch.loader"]:
            return command[i + 2 :]
    return None


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return int(text)


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: Clients | None = None,
    environ: Mapping[str, str] | None = None,
    make_sink: SinkFactory = open_sink,
) -> int:
    """Run a load; return the exit code. ``argv`` may start with the word ``load``.

    ``clients`` replaces the boto3 clients built from the environment (tests pass stubs).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["load"]:
        args = args[1:]
    try:
        options = parse(args)
    except SystemExit as exc:  # argparse has printed the usage or the help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    display = display_for(sys.stdout)
    try:
        env = os.environ if environ is None else environ
        table = _table(options, env)
        request = LoadRequest(
            options.bucket, options.key, table, tuple(options.target), options.force,
            env.get(JOB_ID_ENV),
        )  # fmt: skip
        with display:
            result = load(
                request, display.watch(clients or _boto_clients()), display.echo, make_sink
            )
    except LoadConfigError as exc:
        _fail(str(exc))
        return EXIT_USAGE
    except PartialCommit as exc:
        _fail(str(exc))
        return EXIT_FAILED
    except LoaderError as exc:
        _fail(f"{exc}; no target was changed")
        return EXIT_FAILED
    for label, seconds in zip(result.targets, result.target_seconds, strict=True):
        if label in result.skipped:
            display.echo(f"{table.name} on {label}: skipped (already appended), {seconds:.1f} s")
            continue
        display.echo(
            f"{table.name} on {label}: {result.rows} rows loaded, {result.rejected} rejected, "
            f"{seconds:.1f} s"
        )
    if not result.targets:  # nothing to load (a folder marker): already said why
        return EXIT_OK
    if len(result.skipped) == len(result.targets):
        display.echo(
            f"Nothing loaded from {request.url}: every target holds this version of it "
            f"already (--force appends it again), in {result.seconds:.1f} s"
        )
        return EXIT_OK
    display.echo(
        f"Loaded {result.rows} rows ({human_size(result.size)}) from {request.url} into "
        f"{table.name} on {len(result.targets)} target(s): {', '.join(result.targets)} "
        f"in {result.seconds:.1f} s"
    )
    return EXIT_OK


def _table(options: argparse.Namespace, environ: Mapping[str, str]) -> TableDef:
    stack = options.stack or (Path(environ[STACK_ENV]) if environ.get(STACK_ENV) else None)
    tables = _stack_tables(stack) if stack else None
    source = f"stack file {stack}" if tables is not None else "the built-in tables"
    by_name = {t.name: t for t in (tables if tables is not None else DEFAULT_TABLES)}
    table = by_name.get(options.table.lower())
    if table is None:
        known = ", ".join(sorted(by_name)) or "none"
        raise LoadConfigError(
            f"table {options.table!r} is not defined in {source} (defined: {known})"
        )
    return _overridden(table, options)


def _overridden(table: TableDef, options: argparse.Namespace) -> TableDef:
    """The table with the command line's --mode, --format, --max-errors and --allow-empty."""
    if options.mode:
        if options.mode == "upsert" and not table.primary_key:
            raise LoadConfigError(f"table {table.name} has no primary key: it cannot be upserted")
        table = dataclasses.replace(table, mode=options.mode)
    if options.format:
        table = dataclasses.replace(
            table, format=dataclasses.replace(table.format, type=options.format)
        )
    if options.max_errors is not None:
        table = dataclasses.replace(table, max_errors=options.max_errors)
    if options.allow_empty:
        table = dataclasses.replace(table, allow_empty=True)
    return table


def _stack_tables(path: Path) -> tuple[TableDef, ...] | None:
    try:
        return read_stack_tables(path)
    except OSError as exc:
        raise LoadConfigError(f"cannot read stack file {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise LoadConfigError(str(exc)) from None


def _boto_clients() -> Clients:
    try:
        session = botocore.session.get_session()
        return Clients(
            s3=session.create_client("s3"), secrets=session.create_client("secretsmanager")
        )
    except Exception as exc:  # botocore: no region, bad endpoint URL, ...
        raise LoadConfigError(f"cannot create AWS clients: {exc}") from exc


def _fail(message: str) -> None:
    print(
        f"load failed: {message.replace(chr(13), ' ').replace(chr(10), ' ')}",
        file=sys.stderr,
        flush=True,
    )
