"""What the Batch API tests share: a server with an empty stack, a client with two queues, waiting."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from s3batch.cli.child import ChildServer

PY = sys.executable


class BatchServer(ChildServer):
    """``s3batch up`` with an empty stack and, optionally, a lower timeout floor."""

    def __init__(self, root: Path, min_timeout: int | None = None) -> None:
        stack = root / "stack.yaml"
        stack.write_text("{}\n")
        super().__init__(root / "data", extra_args=("--stack", str(stack)))
        self.min_timeout = min_timeout

    def env(self) -> dict[str, str]:
        extra = {"S3BATCH_MIN_TIMEOUT_SECONDS": str(self.min_timeout)} if self.min_timeout else {}
        return {**super().env(), **extra}


def local_queue(client: Any, queue: str, ce: str, vcpus: int, state: str = "ENABLED") -> None:
    """An UNMANAGED (local) compute environment ``ce`` of ``vcpus`` and queue ``queue`` over it."""
    client.create_compute_environment(
        computeEnvironmentName=ce, type="UNMANAGED", unmanagedvCpus=vcpus, state=state
    )
    client.create_job_queue(
        jobQueueName=queue,
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}],
    )


def batch_client(server: ChildServer) -> Any:
    """A boto3 Batch client, after creating queue ``q`` (8 vCPUs), ``idle-q`` (a DISABLED CE)
    and the definition ``py`` (``python -c pass``)."""
    client = boto3.client(
        "batch", **server.client_kwargs(), config=Config(retries={"max_attempts": 1})
    )
    local_queue(client, "q", "local", 8)
    local_queue(client, "idle-q", "idle", 1, state="DISABLED")
    client.register_job_definition(
        jobDefinitionName="py",
        type="container",
        containerProperties={"command": [PY, "-c", "pass"]},
    )
    return client


def wait(batch: Any, job_id: str, *statuses: str, timeout: float = 30) -> dict[str, Any]:
    """The job's detail once it is in one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
        if job["status"] in statuses:
            return dict(job)
        assert time.monotonic() < deadline, f"job stayed {job['status']}: {job}"
        time.sleep(0.05)
