"""``s3batch backfill`` against a real server: objects uploaded before their rule existed are
loaded into a SQLite target by the job the rule would have submitted, once.

The stack has no rule at first; the rule is then put through the EventBridge API, as a
user adds one to a running pipeline. One backfill runs while the server is up, one while
it is down (the job waits in the state store and runs when the server comes back).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import boto3
import pytest
from loader_server import BUCKET, RULE, TARGET, lite_server

from s3batch.cli.child import ChildServer
from s3batch.cli.demo import job_log, wait_for_job
from s3batch.config import Settings
from s3batch.runtime import open_state


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ChildServer]:
    with lite_server(tmp_path) as srv:
        yield srv


def backfill(server: ChildServer, *args: str, code: int = 0) -> list[str]:
    """Run ``s3batch backfill`` as a user does; its output lines (its errors if it failed)."""
    done = subprocess.run(
        [sys.executable, "-m", "s3batch", "backfill", "--data-dir", str(server.data_dir), *args],
        env=server.env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    return (done.stdout if code == 0 else done.stderr).splitlines()


def job_ids(server: ChildServer) -> set[str]:
    db, services = open_state(Settings.load({}, data_dir=server.data_dir))
    try:
        return {j.id for j in services.batch.list_jobs()}
    finally:
        db.close()


def persons(path: Path) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT id FROM persons ORDER BY id").fetchall()


def test_backfill_loads_what_landed_before_the_rule_once(
    server: ChildServer, tmp_path: Path
) -> None:
    s3 = boto3.client("s3", **server.client_kwargs())
    s3.put_object(Bucket=BUCKET, Key="a/1.csv", Body=b"P1,p1@x.org\nP2,p2@x.org\n")
    s3.put_object(Bucket=BUCKET, Key="b/2.csv", Body=b"P3,p3@x.org\n")
    events = boto3.client("events", **server.client_kwargs())
    events.put_rule(**RULE)
    events.put_targets(Rule=RULE["Name"], Targets=[TARGET])
    assert job_ids(server) == set()  # uploaded before the rule: nothing ran

    known = job_ids(server)
    out = backfill(server, "--bucket", BUCKET, "--prefix", "a/")
    assert out[0].startswith(f"submitted s3://{BUCKET}/a/1.csv (ETag ")
    assert "to load-landing/load-persons: job " in out[0]
    assert out[-1] == f"backfill of s3://{BUCKET}/a/: 1 job(s) submitted, 0 skipped"
    job = wait_for_job(server.data_dir, known)
    assert job.status == "SUCCEEDED", job_log(server.data_dir, job)
    assert job.parameters == {"bucket": BUCKET, "key": "a/1.csv"}
    assert job.submission.trigger and job.submission.trigger["source"] == "aws.s3"
    assert persons(tmp_path / "lite.db") == [("P1",), ("P2",)]

    server.stop()  # the second object is backfilled while the server is down
    known = job_ids(server)
    out = backfill(server, "--bucket", BUCKET)
    assert out[0].startswith(f"skipped s3://{BUCKET}/a/1.csv: ETag ")
    assert out[0].endswith("is in the ledger of Lite-credentials (load-landing/load-persons)")
    assert out[1].startswith(f"submitted s3://{BUCKET}/b/2.csv")
    assert out[-1] == f"backfill of s3://{BUCKET}/: 1 job(s) submitted, 1 skipped"
    again = backfill(server, "--bucket", BUCKET, "--prefix", "b/")  # before the job has run
    assert again[0].startswith(f"skipped s3://{BUCKET}/b/2.csv: already submitted to ")
    assert again[0].endswith("(SUBMITTED)")
    server.start(timeout=60)
    job = wait_for_job(server.data_dir, known)
    assert job.status == "SUCCEEDED", job_log(server.data_dir, job)
    assert persons(tmp_path / "lite.db") == [("P1",), ("P2",), ("P3",)]

    out = backfill(server, "--bucket", BUCKET)
    assert [line.split(": ")[0] for line in out[:2]] == [
        f"skipped s3://{BUCKET}/a/1.csv",
        f"skipped s3://{BUCKET}/b/2.csv",
    ]
    assert out[-1] == f"backfill of s3://{BUCKET}/: 0 job(s) submitted, 2 skipped"

    s3.put_object(Bucket=BUCKET, Key="c/", Body=b"")  # what a console's "create folder" makes
    assert backfill(server, "--bucket", BUCKET, "--prefix", "c/") == [
        f"skipped s3://{BUCKET}/c/: a folder marker (a key ending in /), which holds no rows",
        f"backfill of s3://{BUCKET}/c/: 0 job(s) submitted, 1 skipped",
    ]


def test_backfill_submits_in_the_order_the_objects_were_uploaded(server: ChildServer) -> None:
    s3 = boto3.client("s3", **server.client_kwargs())
    for key in ("c.csv", "a.csv", "b.csv"):  # uploaded in this order: the newest is b.csv
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"P1,p1@x.org\n")
        time.sleep(0.01)
    events = boto3.client("events", **server.client_kwargs())
    events.put_rule(**RULE)
    events.put_targets(Rule=RULE["Name"], Targets=[TARGET])
    out = backfill(server, "--bucket", BUCKET)
    assert [line.split()[1] for line in out[:-1]] == [
        f"s3://{BUCKET}/{key}" for key in ("c.csv", "a.csv", "b.csv")
    ]


def test_backfill_says_when_no_rule_matches(server: ChildServer) -> None:
    s3 = boto3.client("s3", **server.client_kwargs())
    s3.put_object(Bucket=BUCKET, Key="x.csv", Body=b"P1,p1@x.org\n")
    assert backfill(server, "--bucket", BUCKET) == [
        f"skipped s3://{BUCKET}/x.csv: no enabled rule sends its upload to a Batch job queue",
        f"backfill of s3://{BUCKET}/: 0 job(s) submitted, 1 skipped",
    ]
    assert job_ids(server) == set()


def test_backfill_submits_nothing_when_a_ledger_cannot_be_read(
    server: ChildServer, tmp_path: Path
) -> None:
    s3 = boto3.client("s3", **server.client_kwargs())
    s3.put_object(Bucket=BUCKET, Key="x.csv", Body=b"P1,p1@x.org\n")
    events = boto3.client("events", **server.client_kwargs())
    events.put_rule(**RULE)
    events.put_targets(Rule=RULE["Name"], Targets=[TARGET])
    (tmp_path / "lite.db").mkdir()  # the target's path is not a database file
    errors = backfill(server, "--bucket", BUCKET, code=2)
    failure = f"error: sqlite {tmp_path / 'lite.db'}: opening the file failed"
    assert [line for line in errors if line.startswith("error:")][0].startswith(failure)
    assert job_ids(server) == set()


def test_backfill_retries_a_failed_job_once(server: ChildServer, tmp_path: Path) -> None:
    s3 = boto3.client("s3", **server.client_kwargs())
    s3.put_object(Bucket=BUCKET, Key="x.csv", Body=b"P1,p1@x.org\n")
    events = boto3.client("events", **server.client_kwargs())
    events.put_rule(**RULE)
    events.put_targets(Rule=RULE["Name"], Targets=[TARGET])
    with closing(sqlite3.connect(tmp_path / "lite.db")) as conn:  # not the table the job loads
        conn.execute("CREATE TABLE persons (name text)")
    url = f"s3://{BUCKET}/x.csv"

    known = job_ids(server)
    assert backfill(server, "--bucket", BUCKET)[0].startswith(f"submitted {url} (ETag ")
    first = wait_for_job(server.data_dir, known)
    assert first.status == "FAILED", job_log(server.data_dir, first)
    known = job_ids(server)
    out = backfill(server, "--bucket", BUCKET)  # the table is still wrong: the retry fails too
    assert out[0].startswith(f"retried {url} (ETag ")
    assert f"as job {first.id} FAILED: {first.status_reason} (exit code " in out[0]
    assert first.container.reason and out[0].endswith(f": {first.container.reason}")  # why
    assert (
        out[-1]
        == f"backfill of s3://{BUCKET}/: 1 job(s) submitted (1 retrying a failed job), 0 skipped"
    )
    second = wait_for_job(server.data_dir, known)
    assert second.status == "FAILED", job_log(server.data_dir, second)
    assert f"job {second.id}, as job {first.id} FAILED" in out[0]

    with closing(sqlite3.connect(tmp_path / "lite.db")) as conn:
        conn.execute("DROP TABLE persons")
    server.stop()  # so that the retry is still waiting when backfill runs again
    known = job_ids(server)
    out = backfill(server, "--bucket", BUCKET)
    assert f"as job {second.id} FAILED: {second.status_reason} (exit code " in out[0]
    [third] = job_ids(server) - known
    assert out[0].startswith(f"retried {url} (ETag ") and f": job {third}, " in out[0]
    assert backfill(server, "--bucket", BUCKET) == [
        f"skipped {url}: already submitted to load-landing/load-persons as job {third} "
        f"(SUBMITTED), retrying failed job {second.id}",
        f"backfill of s3://{BUCKET}/: 0 job(s) submitted, 1 skipped",
    ]
    assert job_ids(server) - known == {third}
    server.start(timeout=60)
    job = wait_for_job(server.data_dir, known)
    assert (job.id, job.status) == (third, "SUCCEEDED"), job_log(server.data_dir, job)
    assert persons(tmp_path / "lite.db") == [("P1",)]
    assert backfill(server, "--bucket", BUCKET)[0].startswith(f"skipped {url}: ETag ")

    (tmp_path / "lite.db").unlink()  # the target is reset: its ledger no longer has the load
    out = backfill(server, "--bucket", BUCKET)
    assert out[0].startswith(f"skipped {url}: job {third} (load-landing/load-persons) SUCCEEDED")
    assert "yet the ledger of Lite-credentials lacks ETag " in out[0]
    assert job_ids(server) - known == {third}
