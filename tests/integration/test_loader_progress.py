"""What ``s3batch load`` prints: plain lines when its output is a file or a pipe (a job
log), the same lines above a rich progress bar when it is a terminal (run under a pty)."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from loader_server import BUCKET, lite_server

from s3batch.cli.child import ChildServer
from s3batch.runtime import TABLES_FILE

#: The bar rich draws, and the start of any terminal control sequence.
BAR, ESCAPE = "━", "\x1b["


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ChildServer]:
    with lite_server(tmp_path) as srv:
        yield srv


@pytest.fixture
def load_argv(server: ChildServer) -> list[str]:
    """``s3batch load`` of a 2,000-row persons object into the SQLite target."""
    body = "".join(f"P{i},p{i}@example.com\n" for i in range(2000))
    s3 = boto3.client("s3", **server.client_kwargs())
    s3.put_object(Bucket=BUCKET, Key="in/persons.csv", Body=body.encode())
    return [sys.executable, "-m", "s3batch", "load", "--bucket", BUCKET, "--key", "in/persons.csv",
            "--table", "persons", "--target", "Lite-credentials",
            "--stack", str(server.data_dir / TABLES_FILE)]  # fmt: skip


def test_output_to_a_pipe_is_plain_lines(server: ChildServer, load_argv: list[str]) -> None:
    done = subprocess.run(load_argv, env=server.env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Copying data from S3 s3://") and "INSERT 2000" in lines
    assert lines[-1].startswith("Loaded 2000 rows")
    assert ESCAPE not in done.stdout and BAR not in done.stdout


def test_output_to_a_terminal_draws_a_progress_bar(
    server: ChildServer, load_argv: list[str]
) -> None:
    output = _run_in_pty(load_argv, server.env())
    assert BAR in output and ESCAPE in output
    assert f"s3://{BUCKET}/in/persons.csv" in output  # the bar's description
    text = output.replace("\r", "")
    assert "INSERT 2000" in text and "Loaded 2000 rows" in text


def _run_in_pty(argv: list[str], env: dict[str, str]) -> str:
    """Run ``argv`` with a 120-column terminal as stdout and stderr; everything it wrote."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {k: v for k, v in env.items() if k not in ("NO_COLOR", "TERM")} | {"TERM": "xterm"}
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
        assert proc.wait(timeout=120) == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


def test_a_repeated_append_stops_reading_the_object(server: ChildServer) -> None:
    # A second delivery of an appended version: the ledger answers while the object (a
    # real S3 stream) is still arriving; the load closes it and says why nothing loaded.
    body = "".join(f"P{i},p{i}@example.com\n" for i in range(500_000)).encode()  # ~12 MB
    s3 = boto3.client("s3", **server.client_kwargs())
    s3.put_object(Bucket=BUCKET, Key="in/big.csv", Body=body)
    argv = [sys.executable, "-m", "s3batch", "load", "--bucket", BUCKET, "--key", "in/big.csv",
            "--table", "persons", "--target", "Lite-credentials",
            "--stack", str(server.data_dir / TABLES_FILE)]  # fmt: skip
    first = subprocess.run(argv, env=server.env(), capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1].startswith("Loaded 500000 rows")
    assert "Downloaded" in first.stdout
    again = subprocess.run(argv, env=server.env(), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "skipped (already appended)" in again.stdout
    assert "every target holds this version of it already" in again.stdout
    assert "Downloaded" not in again.stdout and "rows are valid" not in again.stdout
