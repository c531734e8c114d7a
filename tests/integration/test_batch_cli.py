"""``s3batch jobs submit|cancel|terminate`` against a running server: they call its Batch API
(the job is seen through boto3 as any other), and say clearly when no server runs."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from batch_support import PY, wait

from s3batch.cli.child import ChildServer, free_port


def jobs(
    server: ChildServer, command: str, *args: str, port: int | None = None
) -> subprocess.CompletedProcess[str]:
    """``s3batch jobs COMMAND --data-dir … --port …`` as a user runs it."""
    where = ["--data-dir", str(server.data_dir), "--port", str(port or server.port)]
    return subprocess.run(
        [PY, "-m", "s3batch", "jobs", command, *where, *args],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_submit_and_terminate(batch: Any, batch_server: ChildServer) -> None:
    sleep = [PY, "-c", "import time; time.sleep(30)"]
    out = jobs(
        batch_server, "submit", "--queue", "q", "--definition", "py", "--name", "cli", "--", *sleep
    )
    assert out.returncode == 0, out.stderr
    job_id = out.stdout.strip()
    running = wait(batch, job_id, "RUNNING")
    assert running["jobName"] == "cli" and running["container"]["command"] == sleep
    out = jobs(batch_server, "terminate", job_id, "--reason", "from the CLI")
    assert out.returncode == 0, out.stderr
    job = wait(batch, job_id, "FAILED", timeout=10)
    assert job["statusReason"] == "from the CLI" and job["isTerminated"] is True


def test_submit_with_parameters_and_cancel(batch: Any, batch_server: ChildServer) -> None:
    out = jobs(
        batch_server,
        "submit",
        "--queue",
        "idle-q",
        "--definition",
        "py",
        "--name",
        "p",
        "-p",
        "key=a.csv",
    )
    assert out.returncode == 0, out.stderr
    job_id = out.stdout.strip()
    assert batch.describe_jobs(jobs=[job_id])["jobs"][0]["parameters"] == {"key": "a.csv"}
    out = jobs(batch_server, "cancel", job_id, "--reason", "not needed")
    assert out.returncode == 0, out.stderr
    job = wait(batch, job_id, "FAILED")
    assert job["statusReason"] == "not needed" and job["isCancelled"] is True


def test_api_errors_are_reported_with_their_code(batch_server: ChildServer) -> None:
    out = jobs(batch_server, "submit", "--queue", "nope", "--definition", "py", "--name", "x")
    assert out.returncode == 1
    assert "ClientException" in out.stderr and "nope" in out.stderr
    out = jobs(batch_server, "terminate", "no-such-job", "--reason", "r")
    assert out.returncode == 1 and "ClientException" in out.stderr


def test_no_running_server_is_a_clear_error(batch_server: ChildServer) -> None:
    port = free_port()
    out = jobs(batch_server, "cancel", "some-job", "--reason", "r", port=port)
    assert out.returncode == 1
    assert f"no s3batch server is running at http://127.0.0.1:{port}" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_data_dir_never_started_is_a_clear_error(
    tmp_path: Path, batch_server: ChildServer
) -> None:
    env = {k: v for k, v in batch_server.env().items() if not k.startswith("S3BATCH_")}
    out = subprocess.run(
        [PY, "-m", "s3batch", "jobs", "cancel", "--data-dir", str(tmp_path), "j", "--reason", "r"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert f"no s3batch key in {tmp_path}" in out.stderr


def test_a_server_of_another_data_dir_is_named_as_the_likely_cause(
    batch_server: ChildServer,
) -> None:
    env = {
        **batch_server.env(),
        "S3BATCH_ACCESS_KEY_ID": "AKIAOTHERDATADIR0000",
        "S3BATCH_SECRET_ACCESS_KEY": "x" * 40,
    }
    where = ["--data-dir", str(batch_server.data_dir), "--port", str(batch_server.port)]
    out = subprocess.run(
        [PY, "-m", "s3batch", "jobs", "cancel", *where, "j", "--reason", "r"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert "UnrecognizedClientException" in out.stderr and "another data dir" in out.stderr
