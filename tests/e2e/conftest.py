"""End-to-end fixtures: ``s3batch up`` with the tutorial's stack, driven by the aws CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
import yaml
from e2e_support import pipeline_stack

from s3batch.cli.child import ChildServer


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChildServer]:
    """A server running the tutorial pipeline on embedded PostgreSQL and DuckDB."""
    root = tmp_path_factory.mktemp("pipeline")
    stack_file = root / "stack.yaml"
    stack_file.write_text(yaml.safe_dump(pipeline_stack(), sort_keys=False))
    server = ChildServer(root / "data", extra_args=("--stack", str(stack_file)))
    server.start(timeout=120)
    yield server
    assert server.stop() == 0, server.log()


@pytest.fixture(scope="session")
def secrets(pipeline: ChildServer):  # type: ignore[no-untyped-def]
    """The target secrets, read the way a job reads them (Secrets Manager over HTTP)."""
    client = boto3.client("secretsmanager", **pipeline.client_kwargs())
    return {
        name: json.loads(client.get_secret_value(SecretId=name)["SecretString"])
        for name in ("RDS-credentials", "Redshift-credentials")
    }
