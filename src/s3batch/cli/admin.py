"""Admin subcommands: ``jobs``, ``logs`` and ``stack``.

Listing, describing and logs read the data dir's state; ``jobs submit|cancel|terminate``
change jobs through the running server's Batch API (:mod:`.remote`).
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from s3batch.batch.codec import job_detail
from s3batch.batch.models import Job
from s3batch.batch.status import TERMINAL, JobStatus
from s3batch.batch.supervisor import LOG_GROUP
from s3batch.cli.datadir import data_dir_option, open_data_dir
from s3batch.cli.remote import batch_client, call, port_option
from s3batch.logs.errors import LogStreamNotFound
from s3batch.logs.service import Logs
from s3batch.stack.model import default_text, load

#: How many jobs ``jobs list`` shows unless told (the newest).
LIST_LIMIT = 100


def _when(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S") if ms else "-"


@click.group()
def jobs() -> None:
    """Batch jobs: list, describe, submit, cancel and terminate."""


@jobs.command("list")
@data_dir_option
@click.option("--queue", default=None, help="Only jobs of this job queue (name or ARN).")
@click.option(
    "--status",
    type=click.Choice([s.value for s in JobStatus]),
    default=None,
    help="Only jobs in this status.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=LIST_LIMIT,
    show_default=True,
    help="Show at most this many (the newest).",
)
def jobs_list(data_dir: Path | None, queue: str | None, status: str | None, limit: int) -> None:
    """List jobs, newest first (array children too), at most --limit of them."""
    db, services = open_data_dir(data_dir)
    try:
        batch = services.batch
        where = {
            "queue": batch.job_queue(queue).name if queue else None,
            "statuses": [status] if status else None,
            "with_children": True,
        }
        found = [job for _, job in batch.newest_jobs(where, limit)]
        total = batch.count_jobs(where)
    finally:
        db.close()
    click.echo(f"{'JOB ID':<38}{'NAME':<20}{'STATUS':<11}{'CREATED':<21}REASON")
    for job in found:
        click.echo(
            f"{job.id:<38}{job.name[:19]:<20}{job.status:<11}{_when(job.created_at):<21}{job.status_reason or ''}"
        )
    if total > len(found):
        click.echo(f"({total - len(found)} older job(s) not shown: --limit {total} shows them all)")


@jobs.command("describe")
@data_dir_option
@click.argument("job_id")
def jobs_describe(data_dir: Path | None, job_id: str) -> None:
    """Print a job as DescribeJobs does (JSON)."""
    db, services = open_data_dir(data_dir)
    try:
        job = services.batch.job(job_id)
    finally:
        db.close()
    click.echo(json.dumps(job_detail(job), indent=2))


@jobs.command("submit")
@data_dir_option
@port_option
@click.option("--queue", required=True, help="The job queue (name or ARN).")
@click.option("--definition", required=True, help="The job definition: name, name:revision or ARN.")
@click.option("--name", required=True, help="The job's name.")
@click.option(
    "--parameter", "-p", multiple=True, help="A Ref:: parameter, NAME=VALUE (repeatable)."
)
@click.argument("command", nargs=-1)
def jobs_submit(
    data_dir: Path | None,
    port: int | None,
    queue: str,
    definition: str,
    name: str,
    parameter: tuple[str, ...],
    command: tuple[str, ...],
) -> None:
    """Submit a job to the running server (SubmitJob); COMMAND, when given, overrides the definition's. Prints the job id."""
    request: dict[str, object] = {"jobName": name, "jobQueue": queue, "jobDefinition": definition}
    if parameter:
        request["parameters"] = dict(p.partition("=")[::2] for p in parameter)
    if command:
        request["containerOverrides"] = {"command": list(command)}
    click.echo(call(batch_client(data_dir, port), "submit_job", **request)["jobId"])


@jobs.command("cancel")
@data_dir_option
@port_option
@click.argument("job_id")
@click.option("--reason", required=True, help="Why: becomes the job's statusReason.")
def jobs_cancel(data_dir: Path | None, port: int | None, job_id: str, reason: str) -> None:
    """Cancel a job that has not started yet, on the running server (CancelJob; a running job is left alone)."""
    call(batch_client(data_dir, port), "cancel_job", jobId=job_id, reason=reason)


@jobs.command("terminate")
@data_dir_option
@port_option
@click.argument("job_id")
@click.option("--reason", required=True, help="Why: becomes the job's statusReason.")
def jobs_terminate(data_dir: Path | None, port: int | None, job_id: str, reason: str) -> None:
    """Terminate a job on the running server (TerminateJob): a running one is stopped."""
    call(batch_client(data_dir, port), "terminate_job", jobId=job_id, reason=reason)


#: How often ``logs --follow`` looks for new lines and for the job's end.
FOLLOW_SECONDS = 0.5


@click.command()
@data_dir_option
@click.argument("job_id")
@click.option(
    "-f", "--follow", is_flag=True, help="Keep printing new lines until the job succeeds or fails."
)
def logs(data_dir: Path | None, job_id: str, follow: bool) -> None:
    """Print a job's log lines (every attempt), oldest first."""
    db, services = open_data_dir(data_dir)
    tokens: dict[str, str | None] = {}
    try:
        while True:
            # Status first, lines second: a job is only SUCCEEDED/FAILED once its output is
            # stored, so the lines read after seeing a final status are all of them.
            job = services.batch.job(job_id)
            for stream in _job_streams(job):
                tokens[stream] = _echo_new(services.logs, stream, tokens.get(stream))
            if not follow or job.status in TERMINAL:
                return
            time.sleep(FOLLOW_SECONDS)
    finally:
        db.close()


def _job_streams(job: Job) -> list[str]:
    """The job's log streams: one per attempt, oldest first, then the current one."""
    streams = [a.log_stream_name for a in job.attempts if a.log_stream_name]
    if job.container.log_stream_name and job.container.log_stream_name not in streams:
        streams.append(job.container.log_stream_name)
    return streams


def _echo_new(logs_service: Logs, stream: str, token: str | None) -> str | None:
    """Print a stream's lines after ``token`` (from the head without one); the token to go on from."""
    while True:
        try:
            page = logs_service.get_log_events(
                LOG_GROUP, stream, start_from_head=True, next_token=token
            )
        except LogStreamNotFound:  # named before its first write: nothing to show yet
            return token
        for event in page.events:
            click.echo(f"{_when(event.timestamp)}  {event.message}")
        if not page.events:
            return page.next_forward_token
        token = page.next_forward_token


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
        "buckets": len(parsed.buckets),
        "trails": len(parsed.trails),
        "secrets": len(parsed.secrets),
        "compute environments": len(parsed.compute_environments),
        "job queues": len(parsed.job_queues),
        "job definitions": len(parsed.job_definitions),
        "rules": len(parsed.rules),
        "tables": len(parsed.tables),
    }
    click.echo(f"{file}: valid (" + ", ".join(f"{n} {k}" for k, n in counts.items() if n) + ")")
