"""Admin subcommands: ``jobs``, ``logs`` and ``stack``, reading the data dir's state directly."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import click

from s3batch.batch.codec import job_detail
from s3batch.batch.status import JobStatus
from s3batch.config import Settings
from s3batch.errors import ConfigError
from s3batch.runtime import open_state
from s3batch.stack.model import default_text, load

_data_dir = click.option(
    "--data-dir", type=click.Path(path_type=Path), default=None, envvar="S3BATCH_DATA_DIR", show_envvar=True,
    help="The server's data dir [default: .s3batch]",
)


def _state(data_dir: Path | None):  # type: ignore[no-untyped-def]
    settings = Settings.load(os.environ, data_dir=data_dir)
    if not (settings.data_dir / "state.db").exists():
        raise ConfigError(f"no s3batch state in {settings.data_dir} (start one with: s3batch up --data-dir DIR)")
    return open_state(settings)


def _when(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S") if ms else "-"


@click.group()
def jobs() -> None:
    """Batch jobs: list and describe."""


@jobs.command("list")
@_data_dir
@click.option("--queue", default=None, help="Only jobs of this job queue (name or ARN).")
@click.option("--status", type=click.Choice([s.value for s in JobStatus]), default=None, help="Only jobs in this status.")
def jobs_list(data_dir: Path | None, queue: str | None, status: str | None) -> None:
    """List jobs, newest first."""
    db, services = _state(data_dir)
    try:
        found = services.batch.list_jobs(queue=queue, status=JobStatus(status) if status else None)
    finally:
        db.close()
    click.echo(f"{'JOB ID':<38}{'NAME':<20}{'STATUS':<11}{'CREATED':<21}REASON")
    for job in sorted(found, key=lambda j: j.created_at, reverse=True):
        click.echo(f"{job.id:<38}{job.name[:19]:<20}{job.status:<11}{_when(job.created_at):<21}{job.status_reason or ''}")


@jobs.command("describe")
@_data_dir
@click.argument("job_id")
def jobs_describe(data_dir: Path | None, job_id: str) -> None:
    """Print a job as DescribeJobs does (JSON)."""
    db, services = _state(data_dir)
    try:
        job = services.batch.job(job_id)
    finally:
        db.close()
    click.echo(json.dumps(job_detail(job), indent=2))


@click.command()
@_data_dir
@click.argument("job_id")
def logs(data_dir: Path | None, job_id: str) -> None:
    """Print a job's log lines (every attempt), oldest first."""
    db, services = _state(data_dir)
    try:
        job = services.batch.job(job_id)
        streams = [a.log_stream_name for a in job.attempts if a.log_stream_name]
        if job.container.log_stream_name and job.container.log_stream_name not in streams:
            streams.append(job.container.log_stream_name)
        for stream in streams:
            token = None
            while True:
                page = services.logs.get_log_events("/aws/batch/job", stream, start_from_head=True, next_token=token)
                for event in page.events:
                    click.echo(f"{_when(event.timestamp)}  {event.message}")
                if not page.events or page.next_forward_token == token:
                    break
                token = page.next_forward_token
    finally:
        db.close()


@click.group()
def stack() -> None:
    """Stack files: show the default, validate one."""


@stack.command("show")
def stack_show() -> None:
    """Print the default stack (the tutorial's pipeline) as YAML, to copy and edit."""
    click.echo(default_text(), nl=False)


@stack.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
def stack_validate(file: Path) -> None:
    """Check a stack file; errors name the resource and the field."""
    parsed = load(file, os.environ)
    counts = {
        "buckets": len(parsed.buckets), "trails": len(parsed.trails), "secrets": len(parsed.secrets),
        "compute environments": len(parsed.compute_environments), "job queues": len(parsed.job_queues),
        "job definitions": len(parsed.job_definitions), "rules": len(parsed.rules), "tables": len(parsed.tables),
    }
    click.echo(f"{file}: valid (" + ", ".join(f"{n} {k}" for k, n in counts.items() if n) + ")")
