"""kill -9 while a job runs: on restart the attempt is recorded failed, the job retried.

The job's process does not outlive the server: the spawner (the server's helper process
that runs jobs) kills it when the server goes. If the spawner was killed too, the orphan
is found and killed by the restarted server.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from batch_support import local_queue
from botocore.config import Config

from s3batch.cli.child import ChildServer


def _batch(server: ChildServer) -> Any:
    config = Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10)
    return boto3.client("batch", **server.client_kwargs(), config=config)


def _wait(batch: Any, job_id: str, *statuses: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
        if job["status"] in statuses:
            return dict(job)
        assert time.monotonic() < deadline, f"job stayed {job['status']}: {job}"
        time.sleep(0.05)


def _gone(pid: int) -> None:
    deadline = time.monotonic() + 5
    while _alive(pid):
        assert time.monotonic() < deadline, f"job process {pid} is still running"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "zombie" not in status


def _spawner_of(server_pid: int) -> int:
    """The pid of the server's spawner (its child running ``s3batch.batch.spawner``)."""
    for entry in Path("/proc").iterdir():
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if parent == server_pid and b"s3batch.batch.spawner" in cmdline:
            return int(entry.name)
    raise AssertionError(f"server {server_pid} runs no spawner")


@pytest.mark.parametrize("killed", ["server", "server and spawner"])
def test_kill_9_mid_job_records_the_attempt_and_retries(tmp_path: Path, killed: str) -> None:
    stack = tmp_path / "stack.yaml"
    stack.write_text("{}\n")
    first = ChildServer(tmp_path / "data", extra_args=("--stack", str(stack)))
    first.start()
    batch = _batch(first)
    local_queue(batch, "q", "local", 2)
    marker, pid_file = tmp_path / "go", tmp_path / "pid"
    # The first attempt records its pid and sleeps; once the marker exists, an attempt succeeds.
    code = (
        "import os, sys, time\n"
        f"if os.path.exists({str(marker)!r}): sys.exit(0)\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(120)\n"
    )
    batch.register_job_definition(
        jobDefinitionName="sleepy",
        type="container",
        containerProperties={"command": [sys.executable, "-c", code]},
        retryStrategy={"attempts": 2},
    )
    job_id = batch.submit_job(jobName="sleepy", jobQueue="q", jobDefinition="sleepy")["jobId"]
    _wait(batch, job_id, "RUNNING")
    deadline = time.monotonic() + 10
    while not (pid_file.exists() and pid_file.read_text()):
        assert time.monotonic() < deadline, "the job never started its process"
        time.sleep(0.05)
    orphan = int(pid_file.read_text())

    assert first.proc is not None
    spawner = _spawner_of(first.proc.pid)
    os.kill(first.proc.pid, signal.SIGKILL)
    if killed == "server and spawner":
        os.kill(spawner, signal.SIGKILL)
    first.proc.wait()
    first.proc = None
    if killed == "server":  # the spawner saw the server go and killed the job's process
        _gone(orphan)
    else:
        assert _alive(orphan), "with its spawner killed too, nothing killed the job process"
    marker.write_text("")

    second = ChildServer(
        tmp_path / "data", credentials=first.credentials, extra_args=("--stack", str(stack))
    )
    second.start()
    try:
        batch = _batch(second)
        job = _wait(batch, job_id, "SUCCEEDED", "FAILED")
        assert job["status"] == "SUCCEEDED", job
        assert [a["statusReason"] for a in job["attempts"]] == [
            "s3batch server restarted while the job was running",
            "Essential container in task exited",
        ]
        _gone(orphan)
    finally:
        assert second.stop() == 0, second.log()
