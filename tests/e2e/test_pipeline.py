"""The tutorial end to end: `aws s3 cp` → trail → rule → Batch job → PostgreSQL and DuckDB."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

from e2e_support import TOOLS_BUCKET, aws_cp

from s3batch.batch.models import Job
from s3batch.cli.child import ChildServer
from s3batch.cli.demo import job_log, sample_persons, table_rows, wait_for_job

BUCKET = "s3-eventbridge-batch"
TARGETS = ("RDS-credentials", "Redshift-credentials")


def _expected(body: bytes) -> list[tuple[Any, ...]]:
    rows = [(r[0], r[1], r[2], Decimal(r[3]), r[4]) for r in csv.reader(io.StringIO(body.decode()))]
    return sorted(rows)


def _upload_and_wait(
    server: ChildServer, tmp_path: Path, body: bytes, url: str, timeout: float = 60
) -> Job:
    db_jobs = _known(server)
    src = tmp_path / url.rsplit("/", 1)[-1]
    src.write_bytes(body)
    aws_cp(server, src, url)
    return wait_for_job(server.data_dir, db_jobs, timeout=timeout)


def _known(server: ChildServer) -> set[str]:
    from s3batch.config import Settings
    from s3batch.runtime import open_state

    db, services = open_state(Settings.load({}, data_dir=server.data_dir))
    try:
        return {j.id for j in services.batch.list_jobs()}
    finally:
        db.close()


def _tables(secrets: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
    return {name: sorted(table_rows(secrets[name], "persons")) for name in TARGETS}


def test_upload_loads_both_databases(
    pipeline: ChildServer, secrets: dict[str, Any], tmp_path: Path
) -> None:
    body = sample_persons(50)
    job = _upload_and_wait(pipeline, tmp_path, body, f"s3://{BUCKET}/sample-data.txt")
    assert job.status == "SUCCEEDED", job_log(pipeline.data_dir, job)
    assert job.parameters["key"] == "sample-data.txt" and job.parameters["bucket"] == BUCKET
    assert job.submission.trigger and job.submission.trigger["source"] == "aws.s3"
    log = job_log(pipeline.data_dir, job)
    assert any("COPY 50" in line for line in log), log
    tables = _tables(secrets)
    assert tables["RDS-credentials"] == _expected(body)
    assert tables["Redshift-credentials"] == _expected(body)


def test_the_job_loads_the_key_the_event_names(
    pipeline: ChildServer, secrets: dict[str, Any], tmp_path: Path
) -> None:
    body = sample_persons(7, seed=1000)
    job = _upload_and_wait(pipeline, tmp_path, body, f"s3://{BUCKET}/landing/other file+1.csv")
    assert job.status == "SUCCEEDED", job_log(pipeline.data_dir, job)
    assert job.parameters["key"] == "landing/other file+1.csv"
    assert _tables(secrets) == {name: _expected(body) for name in TARGETS}


def test_multipart_upload_triggers_a_load(
    pipeline: ChildServer, secrets: dict[str, Any], tmp_path: Path
) -> None:
    body = sample_persons(140_000, seed=5)
    assert len(body) > 8 * 1024 * 1024, "must go multipart"
    job = _upload_and_wait(pipeline, tmp_path, body, f"s3://{BUCKET}/big.csv", timeout=180)
    assert job.status == "SUCCEEDED", job_log(pipeline.data_dir, job)
    for name in TARGETS:
        assert len(table_rows(secrets[name], "persons")) == 140_000


def test_bad_row_fails_the_job_and_keeps_previous_rows(
    pipeline: ChildServer, secrets: dict[str, Any], tmp_path: Path
) -> None:
    good = sample_persons(5, seed=77)
    assert (
        _upload_and_wait(pipeline, tmp_path, good, f"s3://{BUCKET}/good.csv").status == "SUCCEEDED"
    )
    lines = sample_persons(10, seed=300).decode().splitlines()
    lines[6] = lines[6].replace(",", ",12a45,", 3).rsplit(",12a45,", 1)[0] + ',12a45,"1 Bad St"'
    job = _upload_and_wait(
        pipeline, tmp_path, ("\n".join(lines) + "\n").encode(), f"s3://{BUCKET}/bad.csv"
    )
    assert job.status == "FAILED"
    assert job.container.exit_code == 1
    assert job.container.reason and "line 7" in job.container.reason, job.container.reason
    assert any("line 7" in line for line in job_log(pipeline.data_dir, job))
    assert _tables(secrets) == {name: _expected(good) for name in TARGETS}


def test_job_uses_aws_cli_inside(pipeline: ChildServer, tmp_path: Path) -> None:
    job = _upload_and_wait(pipeline, tmp_path, b"hello from s3\n", f"s3://{TOOLS_BUCKET}/note.txt")
    log = job_log(pipeline.data_dir, job)
    assert job.status == "SUCCEEDED", (job.status_reason, job.container, log)
    assert log[0] == "RDS-credentials"
    assert "hello from s3" in log
    assert log[-1] == f"done as {job.id}"
