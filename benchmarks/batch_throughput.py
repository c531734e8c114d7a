"""Batch throughput of ``s3batch up``: SubmitJob calls/s and jobs/s, against a baseline from the same run.

1,000 jobs running ``true`` are submitted through one boto3 client to a queue over a
LOCAL (UNMANAGED) compute environment with 2 vCPUs (so at most 2 jobs run at once). The
baseline is 1,000 ``subprocess.run(["true"])`` in a loop on this machine.

    python benchmarks/batch_throughput.py [--jobs 1000] [--submitters 1]

- SubmitJob/s: jobs / wall time of the submit loop (``--submitters`` client threads).
- jobs/s: jobs / (last job's ``stoppedAt`` - first job's ``createdAt``): SUBMITTED → SUCCEEDED.

Targets (issue "Batch, complete"): SubmitJob >= 500/s; end to end >= 0.5x the baseline.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from s3batch.cli.child import ChildServer

#: Seconds between DescribeJobs polls while waiting for the jobs to finish.
POLL_SECONDS = 0.2
#: The statuses a job ends in.
FINAL = ("SUCCEEDED", "FAILED")


def baseline(n: int) -> float:
    """``true`` processes per second, run one after another by this process."""
    t = time.perf_counter()
    for _ in range(n):
        subprocess.run(["true"], check=True)
    return n / (time.perf_counter() - t)


def client(server: ChildServer) -> Any:
    """A boto3 Batch client with the default config except retries."""
    return boto3.client(
        "batch", **server.client_kwargs(), config=Config(retries={"max_attempts": 1})
    )


def setup(batch: Any) -> None:
    """A 2-vCPU LOCAL compute environment, a queue over it, a ``true`` job definition."""
    batch.create_compute_environment(
        computeEnvironmentName="local", type="UNMANAGED", unmanagedvCpus=2
    )
    batch.create_job_queue(
        jobQueueName="q",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "local"}],
    )
    batch.register_job_definition(
        jobDefinitionName="true", type="container", containerProperties={"command": ["true"]}
    )


def submit_all(server: ChildServer, jobs: int, submitters: int) -> tuple[float, list[str]]:
    """Submit ``jobs`` jobs from ``submitters`` threads; return calls/s and the job ids."""
    ids: list[str] = []
    share = [jobs // submitters + (1 if i < jobs % submitters else 0) for i in range(submitters)]
    clients = [client(server) for _ in range(submitters)]

    def work(batch: Any, count: int) -> None:
        for i in range(count):
            ids.append(
                batch.submit_job(jobName=f"t{i}", jobQueue="q", jobDefinition="true")["jobId"]
            )

    threads = [
        threading.Thread(target=work, args=(c, n)) for c, n in zip(clients, share, strict=True)
    ]
    t = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return jobs / (time.perf_counter() - t), ids


def describe_all(batch: Any, ids: list[str]) -> list[dict[str, Any]]:
    """Every job's detail, 100 ids per DescribeJobs call."""
    return [
        j
        for i in range(0, len(ids), 100)
        for j in batch.describe_jobs(jobs=ids[i : i + 100])["jobs"]
    ]


def wait_done(batch: Any, ids: list[str], timeout: float = 600) -> list[dict[str, Any]]:
    """Every job's detail once none is left unfinished.

    The queue is FIFO, so the last job submitted is (about) the last to end: only it is
    polled, and the others are described once it has ended. Describing every unfinished
    job on each poll would compete with the engine being measured (the figures come from
    the server's timestamps, not from when the poller noticed).
    """
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, "jobs unfinished"
        if batch.describe_jobs(jobs=ids[-1:])["jobs"][0]["status"] in FINAL:
            jobs = describe_all(batch, ids)
            if all(j["status"] in FINAL for j in jobs):
                return jobs
        time.sleep(POLL_SECONDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--submitters", type=int, default=1)
    args = parser.parse_args()
    base = baseline(args.jobs)
    with tempfile.TemporaryDirectory() as tmp:
        stack = Path(tmp) / "stack.yaml"
        stack.write_text("{}\n")
        server = ChildServer(Path(tmp) / "data", extra_args=("--stack", str(stack)))
        server.start()
        try:
            batch = client(server)
            setup(batch)
            submit_rate, ids = submit_all(server, args.jobs, args.submitters)
            jobs = wait_done(batch, ids)
        finally:
            server.stop()
    failed = [j for j in jobs if j["status"] != "SUCCEEDED"]
    span_ms = max(j["stoppedAt"] for j in jobs) - min(j["createdAt"] for j in jobs)
    job_rate = len(jobs) / (span_ms / 1000)
    print(f"baseline: {base:8.1f} subprocess.run(['true'])/s")
    print(
        f"SubmitJob: {submit_rate:7.1f} calls/s = {submit_rate / base:.2f}x baseline"
        f" ({args.submitters} client thread(s)); target >= 500/s"
    )
    print(
        f"end to end: {job_rate:6.1f} jobs/s SUBMITTED->SUCCEEDED = {job_rate / base:.2f}x baseline; target >= 0.5x"
    )
    if failed:
        print(f"{len(failed)} jobs FAILED, e.g. {failed[0].get('statusReason')}")


if __name__ == "__main__":
    main()
