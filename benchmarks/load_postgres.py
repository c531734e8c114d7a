"""Loader throughput into PostgreSQL: ``s3batch load`` versus ``psql \\copy``, in the same run.

Generates a 1M-row CSV in the tutorial's persons shape, starts the embedded PostgreSQL
(the one ``s3batch up`` runs) and loads the same file:

* ``psql \\copy``: the tutorial's method, into an empty ``persons`` table with its
  primary key (``psql`` connects with the embedded server's credentials);
* ``s3batch load --mode replace`` into an empty database (S3 is an in-memory stand-in,
  so the figure is the loader's own: check, spool, COPY, key, swap);
* ``s3batch load --mode upsert`` into a table that already holds every row (all
  unchanged: the merge must read them all and write none);
* ``s3batch load --mode append`` into an empty table.

Prints rows/s and each ratio to psql. Not a test: run it by hand.

    python benchmarks/loader_throughput.py [--rows 1000000] [--psql /usr/bin/psql]

Targets (issue "Step 5"): replace >= 1.7x psql \\copy; upsert >= 0.7x psql \\copy.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from s3batch.embedded import EmbeddedPostgres
from s3batch.loader.cli import EXIT_OK, main
from s3batch.loader.job import Clients
from s3batch.loader.testing import FakeS3, FakeSecrets

BUCKET, KEY = "bench", "persons.csv"
PERSONS_DDL = (
    "CREATE TABLE persons (id varchar(10) PRIMARY KEY, email varchar(50) NOT NULL, "
    "state varchar(3) NOT NULL, postal numeric(10) NOT NULL, address varchar(250) NOT NULL)"
)


def generate(path: Path, rows: int) -> None:
    """``rows`` persons rows (ids fit the table's varchar(10))."""
    with open(path, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as out:
        for i in range(rows):
            out.write(f"P{i:08d},person{i}@example.com,NY,{10000 + i % 89999},{i} Main Street\n")


def new_database(secret: dict[str, Any]) -> dict[str, Any]:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**_conninfo(secret, "postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return {**secret, "dbname": name}


def _conninfo(secret: dict[str, Any], dbname: str) -> dict[str, Any]:
    return {
        "host": secret["host"],
        "port": secret["port"],
        "user": secret["username"],
        "password": secret["password"],
        "dbname": dbname,
    }


def psql_copy(psql: str, secret: dict[str, Any], csv_path: Path) -> float:
    """The tutorial: create the table with its key, then ``\\copy`` into it. Seconds."""
    env = {**os.environ, "PGPASSWORD": str(secret["password"])}
    base = [
        psql,
        "-h",
        str(secret["host"]),
        "-p",
        str(secret["port"]),
        "-U",
        str(secret["username"]),
    ]
    base += ["-d", str(secret["dbname"]), "-v", "ON_ERROR_STOP=1", "-q"]
    subprocess.run([*base, "-c", PERSONS_DDL], env=env, check=True)
    started = time.perf_counter()
    copy = f"\\copy persons FROM '{csv_path}' WITH (FORMAT csv)"
    subprocess.run([*base, "-c", copy], env=env, check=True)
    return time.perf_counter() - started


def s3batch_load(secret: dict[str, Any], data: bytes, mode: str) -> float:
    """``s3batch load --mode MODE`` of the object; seconds. Its job log is discarded."""
    s3 = FakeS3({(BUCKET, KEY): data})
    secrets = FakeSecrets({"pg": secret})
    argv = ["--bucket", BUCKET, "--key", KEY, "--table", "persons", "--target", "pg"]
    argv += ["--mode", mode, "--force"]
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(argv, clients=Clients(s3, secrets), environ={})
    elapsed = time.perf_counter() - started
    if code != EXIT_OK:
        raise SystemExit(f"s3batch load --mode {mode} failed with exit code {code}")
    return elapsed


@contextlib.contextmanager
def postgres(tmp: Path) -> Iterator[dict[str, Any]]:
    server = EmbeddedPostgres(tmp / "pg")
    secret = server.start()
    try:
        yield secret
    finally:
        server.stop()


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--psql", default="/usr/bin/psql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="s3batch-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        csv_path = tmp / "persons.csv"
        generate(csv_path, args.rows)
        data = csv_path.read_bytes()
        print(f"{args.rows:,} rows, {len(data) / 1e6:.1f} MB")
        with postgres(tmp) as secret:
            figures = {"psql \\copy": psql_copy(args.psql, new_database(secret), csv_path)}
            figures["s3batch replace"] = s3batch_load(new_database(secret), data, "replace")
            full = new_database(secret)
            s3batch_load(full, data, "replace")
            figures["s3batch upsert (all unchanged)"] = s3batch_load(full, data, "upsert")
            figures["s3batch append"] = s3batch_load(new_database(secret), data, "append")
    baseline = args.rows / figures["psql \\copy"]
    for name, seconds in figures.items():
        rate = args.rows / seconds
        print(f"{name:32} {seconds:7.2f} s {rate:12,.0f} rows/s  {rate / baseline:5.2f}x psql")


if __name__ == "__main__":
    main_()
