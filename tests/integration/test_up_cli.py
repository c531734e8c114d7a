"""``s3batch up`` as a user runs it: generated credentials, the banner, health, clean stop."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from batch_support import local_queue

from s3batch.cli.child import free_port

#: Servers started by the running test, stopped after it even when it fails.
_started: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_leftover_servers() -> Iterator[None]:
    yield
    while _started:
        proc = _started.pop()
        if proc.poll() is None:
            proc.terminate()  # SIGTERM: `up` also stops its embedded PostgreSQL
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _up_argv(data_dir: Path, port: int, *args: str) -> list[str]:
    """``s3batch up --data-dir DATA_DIR --port PORT ARGS``."""
    up = [sys.executable, "-m", "s3batch", "up"]
    return [*up, "--data-dir", str(data_dir), "--port", str(port), *args]


def _run_up(
    data_dir: Path, port: int, env: dict[str, str], *args: str, timeout: float
) -> subprocess.CompletedProcess[str]:
    """``s3batch up`` expected to end by itself (refused); its output captured."""
    argv = _up_argv(data_dir, port, *args)
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)


def _start(data_dir: Path, port: int, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        _up_argv(data_dir, port, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    _started.append(proc)
    return proc


def _wait_banner(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "aws s3 mb" in line:
            return "".join(lines)
    raise AssertionError(f"no banner: {''.join(lines)}")


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=30)
    finally:
        assert proc.stdout is not None
        proc.stdout.close()


@pytest.fixture
def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("S3BATCH_", "AWS_"))}


def test_generated_key_is_printed_kept_0600_and_reused(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    port = free_port()
    proc = _start(tmp_path / "d", port, clean_env)
    banner = _wait_banner(proc)
    creds_file = tmp_path / "d" / "credentials.json"
    saved = json.loads(creds_file.read_text())
    assert stat.S_IMODE(creds_file.stat().st_mode) == 0o600
    assert f"http://127.0.0.1:{port}" in banner
    assert saved["AccessKeyId"] in banner and saved["SecretAccessKey"] in banner
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_s3batch/health") as r:
        assert r.status == 200
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id=saved["AccessKeyId"],
        aws_secret_access_key=saved["SecretAccessKey"],
    )
    s3.create_bucket(Bucket="kept")
    assert _stop(proc, signal.SIGINT) == 0

    again = _start(tmp_path / "d", port, clean_env)
    second = _wait_banner(again)
    assert saved["AccessKeyId"] in second
    assert saved["SecretAccessKey"] not in second, "the secret is printed only when it is generated"
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["kept", "s3-eventbridge-batch"]
    assert _stop(again) == 0


def test_stack_file_credentials_and_buckets(tmp_path: Path, clean_env: dict[str, str]) -> None:
    stack = tmp_path / "stack.yaml"
    stack.write_text(
        "buckets:\n  - Bucket: s3-eventbridge-batch\n    EventBridgeEnabled: true\n"
        "credentials:\n  - {AccessKeyId: AKIASTACKKEY0000001, SecretAccessKey: stack-secret}\n"
    )
    port = free_port()
    proc = _start(tmp_path / "d", port, clean_env, "--stack", str(stack))
    banner = _wait_banner(proc)
    assert "AKIASTACKKEY0000001" in banner and "stack-secret" not in banner
    assert not (tmp_path / "d" / "credentials.json").exists()
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="AKIASTACKKEY0000001",
        aws_secret_access_key="stack-secret",
    )
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["s3-eventbridge-batch"]
    assert _stop(proc) == 0


def test_bad_stack_file_names_the_field(tmp_path: Path, clean_env: dict[str, str]) -> None:
    stack = tmp_path / "stack.yaml"
    stack.write_text("buckets:\n  - Bucket: ok-bucket\n  - Buckett: typo\n")
    result = _run_up(tmp_path / "d", free_port(), clean_env, "--stack", str(stack), timeout=30)
    assert result.returncode == 2
    assert "buckets[1]" in result.stderr and "Buckett" in result.stderr


def test_port_in_use_is_a_clear_error(tmp_path: Path, clean_env: dict[str, str]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = _run_up(tmp_path / "d", port, clean_env, timeout=30)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_env_prints_exports(tmp_path: Path, clean_env: dict[str, str]) -> None:
    port = free_port()
    proc = _start(tmp_path / "d", port, clean_env)
    _wait_banner(proc)
    assert _stop(proc) == 0
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "s3batch",
            "env",
            "--data-dir",
            str(tmp_path / "d"),
            "--port",
            str(port),
        ],
        capture_output=True,
        text=True,
        env=clean_env,
        check=True,
    ).stdout
    saved = json.loads((tmp_path / "d" / "credentials.json").read_text())
    assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in out
    assert f"export AWS_SECRET_ACCESS_KEY={saved['SecretAccessKey']}" in out


def test_a_second_up_on_a_data_dir_in_use_is_refused_and_changes_nothing(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    """It would otherwise kill the first server's running jobs as orphans (and stop its PostgreSQL)."""
    stack = tmp_path / "stack.yaml"
    stack.write_text("{}\n")
    port = free_port()
    first = _start(tmp_path / "d", port, clean_env, "--stack", str(stack))
    _wait_banner(first)
    saved = json.loads((tmp_path / "d" / "credentials.json").read_text())
    batch = boto3.client(
        "batch",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id=saved["AccessKeyId"],
        aws_secret_access_key=saved["SecretAccessKey"],
    )
    local_queue(batch, "q", "local", 1)
    batch.register_job_definition(
        jobDefinitionName="wait", type="container", containerProperties={"command": ["sleep", "60"]}
    )
    job_id = batch.submit_job(jobName="long", jobQueue="q", jobDefinition="wait")["jobId"]
    deadline = time.monotonic() + 30
    while batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"] != "RUNNING":
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.1)
    second = _run_up(tmp_path / "d", free_port(), clean_env, "--stack", str(stack), timeout=60)
    assert second.returncode == 1, second.stdout + second.stderr
    assert f"{tmp_path / 'd'} is in use by another s3batch up (pid {first.pid})" in second.stderr
    assert batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"] == "RUNNING"
    assert _stop(first) == 0
