"""The loader's memory is bounded: a 2 GB CSV loads with its peak RSS under 300 MB.

As a user runs it: the file is uploaded with boto3 to a real ``s3batch up`` whose stack
holds the two secrets, and ``python -m s3batch.loader load`` runs as its own process with
the environment a Batch job gets, loading PostgreSQL (the embedded server) and a DuckDB
file, the default stack's two targets. Its peak RSS is the kernel's high-water mark of
that process's own memory (``VmHWM``), read until it exits. (Not ``wait4``'s ``ru_maxrss``:
the kernel carries the forking process's peak into the child's at ``exec``, so it would
report pytest's size once pytest has grown past the bound.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import duckdb
import psycopg
import pytest
import yaml

from pg import Secret, conninfo, create_database, start_postgres
from s3batch.cli.child import ChildServer
from s3batch.loader.testing import write_persons

#: ~2 GB of persons rows (59 bytes a row on average).
ROWS = 34_000_000
#: The bound the issue sets for the loader's peak resident memory.
MAX_RSS_MB = 300
#: Seconds after which a stuck loader is killed (the load takes one or two minutes).
KILL_AFTER = 900
#: Seconds between readings of the loader's high-water mark.
POLL = 0.05

BUCKET = "landing"

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Stack:
    """The server and the two targets its secrets ``pg`` and ``duck`` name."""

    server: ChildServer
    pg: Secret
    duck_path: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("memory")
    secret, stop = start_postgres(root / "pg")
    try:
        pg, duck_path = create_database(secret), root / "warehouse.duckdb"
        secrets = {"pg": pg, "duck": {"engine": "duckdb", "path": str(duck_path)}}
        doc = {
            "buckets": [{"Bucket": BUCKET}],
            "secrets": [{"Name": k, "SecretString": json.dumps(v)} for k, v in secrets.items()],
        }
        (root / "stack.yaml").write_text(yaml.safe_dump(doc))
        server = ChildServer(root / "data", extra_args=("--stack", str(root / "stack.yaml")))
        server.start(timeout=60)
        try:
            yield Stack(server, pg, duck_path)
        finally:
            server.stop()
    finally:
        stop()
        shutil.rmtree(root)  # gigabytes: the object, the tables, the DuckDB file


def run_measured(command: list[str], env: dict[str, str], log: Path) -> tuple[int, float]:
    """Run ``command``; its exit code and peak RSS in MB (killed after :data:`KILL_AFTER` s)."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    status, peak_kib, deadline = Path(f"/proc/{proc.pid}/status"), 0, time.monotonic() + KILL_AFTER
    while proc.poll() is None and time.monotonic() < deadline:
        # VmHWM only grows while the process lives, so the last reading is its peak.
        hwm = [line for line in status.read_text().splitlines() if line.startswith("VmHWM:")]
        peak_kib = max([peak_kib, *(int(line.split()[1]) for line in hwm)])
        time.sleep(POLL)
    if proc.poll() is None:
        proc.kill()
    return proc.wait(), peak_kib / 1024


def test_a_2_gb_csv_loads_with_peak_rss_under_300_mb(stack: Stack, tmp_path: Path) -> None:
    csv_path = tmp_path / "persons.csv"
    with open(csv_path, "wb") as out:
        size = write_persons(out, ROWS)
    assert size > 1.9e9
    s3 = boto3.client("s3", **stack.server.client_kwargs())
    try:
        s3.upload_file(str(csv_path), BUCKET, "persons.csv")
    finally:
        csv_path.unlink()  # the server keeps its own copy
    command = [sys.executable, "-m", "s3batch.loader", "load", "--bucket", BUCKET]
    command += ["--key", "persons.csv", "--table", "persons", "--target", "pg", "--target", "duck"]
    log = tmp_path / "load.log"
    code, peak_mb = run_measured(command, stack.server.env(), log)
    assert code == 0, log.read_text()[-3000:]
    with psycopg.connect(**conninfo(stack.pg)) as conn:  # (its primary key is checked)
        assert conn.execute("SELECT count(*) FROM persons").fetchone() == (ROWS,)
    with duckdb.connect(str(stack.duck_path), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM persons").fetchone() == (ROWS,)
    assert 50 < peak_mb < MAX_RSS_MB, f"peak RSS {peak_mb:.0f} MB\n{log.read_text()[-2000:]}"
