"""Upload-to-loaded latency of the tutorial's pipeline on ``s3batch up``.

Starts ``s3batch up`` with its default stack (the tutorial's rule, queue and loader job
into the embedded PostgreSQL and a DuckDB file), then uploads a 50-row persons file with
boto3 ``--rounds`` times, one after the other, and for each upload reads from the job's
own record (DescribeJobs, server timestamps) how long after the PUT began the job was
submitted (trail -> rule -> SubmitJob), started (placed, process spawned) and stopped
(the loader job done: both tables reloaded and committed). The first upload also creates
the DuckDB file and warms the caches; the median is of the rest. Not a test: run it by hand.

    python benchmarks/pipeline_latency.py [--rounds 6]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

from s3batch.cli.child import ChildServer
from s3batch.cli.demo import BUCKET, sample_persons

#: The default stack's queue.
QUEUE = "update-RDS-data-from-S3"
STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")


def job_after(batch: Any, since_ms: float, timeout: float = 60) -> dict[str, Any]:
    """The first job created at or after ``since_ms``, once it has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = [
            j
            for status in STATUSES
            for j in batch.list_jobs(jobQueue=QUEUE, jobStatus=status)["jobSummaryList"]
            if j["createdAt"] >= since_ms
        ]
        if listed and all(j["status"] in ("SUCCEEDED", "FAILED") for j in listed):
            return dict(batch.describe_jobs(jobs=[listed[0]["jobId"]])["jobs"][0])
        time.sleep(0.02)
    raise TimeoutError("the upload's job did not end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    body = sample_persons(50)
    spans: list[tuple[float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="s3batch-latency-") as tmp:
        server = ChildServer(Path(tmp) / "data")
        server.start(timeout=120)
        try:
            s3 = boto3.client("s3", **server.client_kwargs())
            batch = boto3.client("batch", **server.client_kwargs())
            for i in range(args.rounds):
                began = time.time() * 1000  # the server stamps jobs with the same wall clock
                s3.put_object(Bucket=BUCKET, Key=f"latency-{i}.csv", Body=body)
                job = job_after(batch, began - 1)
                if job["status"] != "SUCCEEDED":
                    raise SystemExit(
                        f"job {job['jobId']} {job['status']}: {job.get('statusReason')}"
                    )
                span = (
                    job["createdAt"] - began,
                    job["startedAt"] - began,
                    job["stoppedAt"] - began,
                )
                spans.append(span)
                print(
                    f"upload {i}: submitted +{span[0]:.0f} ms, started +{span[1]:.0f} ms, loaded +{span[2]:.0f} ms"
                )
        finally:
            server.stop()
    warm = spans[1:] or spans
    medians = [statistics.median(s[k] for s in warm) for k in range(3)]
    print(
        f"median of {len(warm)} warm uploads: submitted +{medians[0]:.0f} ms, "
        f"started +{medians[1]:.0f} ms, loaded +{medians[2]:.0f} ms after the PUT began"
    )


if __name__ == "__main__":
    main()
