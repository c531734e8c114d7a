"""Integration fixtures: a real ``s3batch up`` process, driven by boto3 and the aws CLI."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from batch_support import BatchServer, batch_client
from botocore.config import Config

# The browser tests' fixtures (tests/integration/test_dashboard*.py).
from dashboard_support import browser, page, seen  # noqa: F401

from s3batch.cli.child import ChildServer


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChildServer]:
    """One server for the session, on a free port with a fresh data dir."""
    root = tmp_path_factory.mktemp("s3batch")
    empty = root / "empty-stack.yaml"  # S3 only: no embedded databases to start
    empty.write_text("{}\n")
    srv = ChildServer(root / "data", extra_args=("--stack", str(empty)))
    srv.start()
    yield srv
    assert srv.stop() == 0, srv.log()


@pytest.fixture(scope="session")
def s3(server: ChildServer):  # type: ignore[no-untyped-def]
    """A boto3 S3 client of the server (default botocore config: checksums on)."""
    return boto3.client("s3", **server.client_kwargs(), config=Config(retries={"max_attempts": 1}))


@pytest.fixture
def bucket(s3) -> str:  # type: ignore[no-untyped-def]
    """A new, empty bucket for one test."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


class AwsCli:
    """Runs the real aws CLI (the PyPI awscli) against the server."""

    def __init__(self, server: ChildServer) -> None:
        self.server = server
        self.exe = shutil.which("aws")
        assert self.exe, "the aws CLI is not installed (pip install awscli)"

    def __call__(
        self, *args: str, check: bool = True, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.exe, "--endpoint-url", self.server.endpoint, *args],
            env=self.server.env(),
            capture_output=True,
            text=True,
            timeout=120,
            cwd=cwd,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"aws {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result


@pytest.fixture(scope="session")
def aws(server: ChildServer) -> AwsCli:
    """The aws CLI pointed at the server."""
    return AwsCli(server)


@pytest.fixture(scope="module")
def batch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChildServer]:
    """A server with an empty stack for one module's Batch API tests (a module may override it)."""
    srv = BatchServer(tmp_path_factory.mktemp("batch"))
    srv.start()
    yield srv
    assert srv.stop() == 0, srv.log()


@pytest.fixture(scope="module")
def batch(batch_server: ChildServer):  # type: ignore[no-untyped-def]
    """A boto3 Batch client of ``batch_server``, with queues ``q`` and ``idle-q`` and definition ``py``."""
    return batch_client(batch_server)
