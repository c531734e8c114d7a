"""Run ``s3batch up`` as a child process on a free port, and wait until it is healthy.

Used by ``s3batch demo`` and by the integration tests: both drive the server exactly as
a user does, over HTTP, from another process.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from s3batch.credentials import Credentials, generate


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChildServer:
    """An ``s3batch up`` process with its own data dir, port and key pair."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        credentials: Credentials | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.credentials = credentials or generate()
        self.extra_args = extra_args
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}.server.log"

    def env(self) -> dict[str, str]:
        """Environment for the server and for aws CLI / boto3 clients of it."""
        creds = self.credentials
        return {
            **os.environ,
            "S3BATCH_ACCESS_KEY_ID": creds.access_key_id,
            "S3BATCH_SECRET_ACCESS_KEY": creds.secret_access_key,
            "AWS_ACCESS_KEY_ID": creds.access_key_id,
            "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.endpoint,
        }

    def client_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``boto3.client(...)``."""
        return {
            "endpoint_url": self.endpoint,
            "region_name": "us-east-1",
            "aws_access_key_id": self.credentials.access_key_id,
            "aws_secret_access_key": self.credentials.secret_access_key,
        }

    def start(self, timeout: float = 30) -> None:
        """Start the process and wait for ``/_s3batch/health``. Raises RuntimeError."""
        args = [
            sys.executable,
            "-m",
            "s3batch",
            "up",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
        ]
        # Owner-only, as credentials.json: the server prints the access key it generates.
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with open(fd, "ab") as log:
            self.proc = subprocess.Popen(
                [*args, *self.extra_args], env=self.env(), stdout=log, stderr=log
            )
        try:
            self._wait_healthy(timeout)
        except BaseException:
            self.stop()  # never leave a half-started server behind
            raise

    def _wait_healthy(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"s3batch up exited with code {self.proc.returncode}: {self.log()}"
                )
            try:
                with urllib.request.urlopen(f"{self.endpoint}/_s3batch/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"s3batch up did not become healthy within {timeout:.0f}s: {self.log()}")

    def log(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Signal the process and wait for it; return its exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        self.proc = None
        return code
