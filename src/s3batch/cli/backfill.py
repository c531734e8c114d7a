"""``backfill``: submit the loads that objects already in a bucket never got."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from s3batch.backfill import Backfill, Outcome
from s3batch.batch.models import Job
from s3batch.cli.datadir import data_dir_option, open_data_dir
from s3batch.clock import SystemClock


@click.command()
@data_dir_option
@click.option("--bucket", required=True, help="The bucket whose objects to load.")
@click.option("--prefix", default="", help="Only objects whose key starts with this.")
def backfill(data_dir: Path | None, bucket: str, prefix: str) -> None:
    """Submit a load for every object its rules would load and the ledgers do not hold yet.

    Jobs go to the data dir's state: a running server starts them at once, a stopped one
    when it is next brought up. The databases must be reachable to read their ledgers.
    A job that an earlier backfill submitted is skipped unless it FAILED: then a new job
    retries it, once however often backfill runs.
    """
    db, s = open_data_dir(data_dir)
    actions: Counter[str] = Counter()
    try:
        for outcome in Backfill(s.objects, s.trails, s.bus, s.batch, s.secrets, SystemClock()).run(
            bucket, prefix
        ):
            click.echo(describe(outcome))
            actions[outcome.action] += 1
    finally:
        db.close()
    retried = actions["retried"]
    submitted = actions["submitted"] + retried
    retries = f" ({retried} retrying a failed job)" if retried else ""
    click.echo(
        f"backfill of s3://{bucket}/{prefix}: {submitted} job(s) submitted{retries}, "
        f"{actions.total() - submitted} skipped"
    )


def describe(outcome: Outcome) -> str:
    """One line of the report."""
    url = f"s3://{outcome.bucket}/{outcome.key}"
    job = outcome.job
    failed = outcome.retries
    if outcome.action == "submitted" and job is not None:
        return f"submitted {url} (ETag {outcome.version}) to {outcome.delivery}: job {job.id}"
    if outcome.action == "retried" and job is not None and failed is not None:
        return (
            f"retried {url} (ETag {outcome.version}) to {outcome.delivery}: job {job.id}, "
            f"as job {failed.id} FAILED: {failure(failed)}"
        )
    if outcome.action == "already-submitted" and job is not None:
        retry = "" if failed is None else f", retrying failed job {failed.id}"
        return (
            f"skipped {url}: already submitted to {outcome.delivery} as job {job.id} "
            f"({job.status}){retry}"
        )
    if outcome.action == "succeeded-not-in-ledger" and job is not None:
        return (
            f"skipped {url}: job {job.id} ({outcome.delivery}) SUCCEEDED, yet the ledger of "
            f"{', '.join(outcome.targets)} lacks ETag {outcome.version} (was the target reset?); "
            "load it again with s3batch load"
        )
    if outcome.action == "in-ledger":
        return (
            f"skipped {url}: ETag {outcome.version} is in the ledger of "
            f"{', '.join(outcome.targets)} ({outcome.delivery})"
        )
    if outcome.action == "rejects-file":
        return f"skipped {url}: a rejects file written by the loader"
    if outcome.action == "folder-marker":
        return f"skipped {url}: a folder marker (a key ending in /), which holds no rows"
    return f"skipped {url}: no enabled rule sends its upload to a Batch job queue"


def failure(job: Job) -> str:
    """Why a FAILED job failed: its statusReason, its container's exit code if it has one,
    and the container's reason (the last line the job wrote to stderr: the loader's error)."""
    reason = job.status_reason or "no reason given"
    code, why = job.container.exit_code, job.container.reason
    reason = reason if code is None else f"{reason} (exit code {code})"
    return reason if not why else f"{reason}: {why}"
