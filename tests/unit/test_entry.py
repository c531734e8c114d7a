"""The console script: ``s3batch load`` (a Batch job per object) starts without the server."""

from __future__ import annotations

import subprocess
import sys

import pytest


def imported(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -X importtime -m s3batch ARGS``; its result and the modules it imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "s3batch", *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return done, modules


def test_load_runs_the_loader_without_importing_the_server() -> None:
    done, modules = imported("load", "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--target SECRET_ID" in done.stdout
    assert "s3batch.loader.cli" in modules
    assert not {"s3batch.runtime", "s3batch.cli.main", "click", "uvicorn"} & modules


@pytest.mark.parametrize("args", [("-v", "load", "--help"), ("--help",)])
def test_other_commands_go_through_the_whole_command_line(args: tuple[str, ...]) -> None:
    done, modules = imported(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "s3batch.cli.main" in modules
    assert ("--target SECRET_ID" if "load" in args else "demo") in done.stdout
