"""``s3batch demo``: the seed scenario on a throwaway data dir, driven the way a user would.

It starts ``s3batch up`` as a child process on a free port (:mod:`.child`) with the
default stack (the tutorial's pipeline on an embedded PostgreSQL and a DuckDB file),
uploads a persons file with boto3 as the tutorial's ``aws s3 cp`` does, waits for the
Batch job the upload triggers, and prints its status, its log and both tables.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import duckdb
import psycopg
from botocore.config import Config

from s3batch.batch.models import Job
from s3batch.batch.status import TERMINAL
from s3batch.cli.child import ChildServer
from s3batch.config import Settings
from s3batch.runtime import open_state

#: The tutorial's bucket and object.
BUCKET, KEY = "s3-eventbridge-batch", "sample-data.txt"


def sample_persons(rows: int = 50, seed: int = 0) -> bytes:
    """A persons file in the tutorial's shape: id, email, state, postal, address (CSV, no header)."""
    first = [
        "ada",
        "grace",
        "alan",
        "edsger",
        "barbara",
        "donald",
        "frances",
        "ken",
        "radia",
        "tim",
    ]
    states = ["CA", "NY", "TX", "WA", "MA", "IL", "OR", "CO"]
    streets = ["Main St", "Oak Ave", "Pine Rd", "Maple Dr", "Cedar Ln", "Elm St"]
    lines = []
    for i in range(rows):
        n = i + seed
        name = first[n % len(first)]
        postal = 10000 + (n * 7919) % 89999
        address = f"{100 + n} {streets[n % len(streets)]}, Springfield"
        lines.append(
            f'P{n:05d},{name}.{n}@example.com,{states[n % len(states)]},{postal},"{address}"'
        )
    return ("\n".join(lines) + "\n").encode()


def wait_for_job(data_dir: Path, known: set[str], timeout: float = 60) -> Job:
    """Wait for a job not in ``known`` to finish; return it. Raises TimeoutError."""
    deadline = time.monotonic() + timeout
    settings = Settings.load(os.environ, data_dir=data_dir)
    db, services = open_state(settings)
    try:
        while time.monotonic() < deadline:
            fresh = [j for j in services.batch.list_jobs() if j.id not in known]
            done = [j for j in fresh if j.status in TERMINAL]
            if done:
                return done[0]
            time.sleep(0.1)
    finally:
        db.close()
    raise TimeoutError(f"no new job finished within {timeout:.0f}s")


def job_log(data_dir: Path, job: Job) -> list[str]:
    """The job's log lines (latest attempt), oldest first."""
    db, services = open_state(Settings.load(os.environ, data_dir=data_dir))
    try:
        stream = job.container.log_stream_name
        page = (
            services.logs.get_log_events("/aws/batch/job", stream, start_from_head=True)
            if stream
            else None
        )
        return [e.message for e in page.events] if page else []
    finally:
        db.close()


def table_rows(secret: dict[str, Any], table: str) -> list[tuple[Any, ...]]:
    """Every row of ``table`` in the database a target secret names, ordered by the first column."""
    if secret["engine"] == "duckdb":
        with duckdb.connect(secret["path"], read_only=True) as conn:
            return [
                tuple(r) for r in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()
            ]
    conninfo = psycopg.conninfo.make_conninfo(
        host=secret["host"],
        port=secret["port"],
        user=secret["username"],
        password=secret["password"],
        dbname=secret["dbname"],
    )
    with psycopg.connect(conninfo) as conn:
        return [tuple(r) for r in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()]


def run_demo(say: Callable[[str], None], keep: bool = False) -> None:
    """Start a server, upload the persons file, watch the job load it, show the tables."""
    data_dir = Path(tempfile.mkdtemp(prefix="s3batch-demo-"))
    server = ChildServer(data_dir)
    say(
        f"1. s3batch up on {server.endpoint} (throwaway data dir {data_dir}, embedded PostgreSQL + DuckDB)"
    )
    server.start(timeout=120)
    try:
        config = Config(retries={"max_attempts": 1})
        s3 = boto3.client("s3", **server.client_kwargs(), config=config)
        secrets = boto3.client("secretsmanager", **server.client_kwargs(), config=config)
        body = sample_persons()
        say(f"2. PutObject s3://{BUCKET}/{KEY} with boto3   ({len(body)} bytes, 50 persons)")
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)
        say(
            "3. CloudTrail logs the PutObject, rule S3-Source-Batch-Target matches it, a Batch job is submitted"
        )
        job = wait_for_job(data_dir, set())
        say(f"4. job {job.id} ({job.name}) on queue {job.queue}: {job.status}")
        say("   job log:")
        for line in job_log(data_dir, job):
            say(f"   | {line}")
        say("5. the persons table in each database:")
        for secret_id in ("RDS-credentials", "Redshift-credentials"):
            secret = json.loads(secrets.get_secret_value(SecretId=secret_id)["SecretString"])
            rows = table_rows(secret, "persons")
            first = rows[0] if rows else None
            say(f"   {secret_id} ({secret['engine']}): {len(rows)} rows, first {first}")
        if job.status != "SUCCEEDED":
            raise RuntimeError(f"the load job failed: {job.status_reason}")
    finally:
        server.stop()
        if keep:
            say(f"data dir kept: {data_dir} (server log {server.log_path})")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
            server.log_path.unlink(missing_ok=True)
