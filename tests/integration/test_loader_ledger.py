"""Append with the ledger, upsert, rejects, gzip and JSON lines on a real PostgreSQL and DuckDB."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from pg import Secret, connect, create_database, start_postgres
from s3batch.loader.cli import EXIT_FAILED, EXIT_OK, main
from s3batch.loader.job import Clients
from s3batch.loader.testing import FakeS3, FakeSecrets

BUCKET = "landing"
TARGETS = ("pg", "duck")
#: persons (with a primary key) and events (without one).
STACK = Path(__file__).with_name("loader_modes_stack.yaml")


def persons(*rows: tuple[int, int]) -> bytes:
    return "".join(
        f"P{i},p{i}@example.com,NY,{postal},{i} Main St\n" for i, postal in rows
    ).encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secret]:
    secret, stop = start_postgres(tmp_path_factory.mktemp("loader-modes-pg"))
    yield secret
    stop()


@dataclass
class World:
    pg: Secret
    duck_path: Path
    s3: FakeS3

    def run(self, key: str, *extra: str, job_id: str = "job-1", table: str = "persons") -> int:
        secrets = FakeSecrets(
            {"pg": self.pg, "duck": {"engine": "duckdb", "path": str(self.duck_path)}}
        )
        argv = ["--bucket", BUCKET, "--key", key, "--table", table, "--stack", str(STACK)]
        argv += [arg for t in TARGETS for arg in ("--target", t)]
        return main(
            [*argv, *extra],
            clients=Clients(self.s3, secrets),
            environ={"AWS_BATCH_JOB_ID": job_id},
        )

    def pg_query(self, sql: str) -> list[tuple[object, ...]]:
        with connect(self.pg) as conn:
            return conn.execute(sql).fetchall()

    def duck_query(self, sql: str) -> list[tuple[object, ...]]:
        with duckdb.connect(str(self.duck_path)) as conn:
            return conn.execute(sql).fetchall()

    def both(self, sql: str) -> list[tuple[object, ...]]:
        pg, duck = self.pg_query(sql), self.duck_query(sql)
        assert [tuple(map(str, r)) for r in pg] == [tuple(map(str, r)) for r in duck]
        return pg


@pytest.fixture
def world(server: Secret, tmp_path: Path) -> World:
    return World(create_database(server), tmp_path / "warehouse.duckdb", FakeS3())


LEDGER = (
    "SELECT key, mode, job_id, rows_loaded, rows_rejected, forced "
    "FROM s3batch_load_history ORDER BY loaded_at"
)


def test_append_once_then_force(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.s3.put(BUCKET, "day1.csv", b"a,1\nb,2\n")
    assert world.run("day1.csv", table="events") == EXIT_OK
    assert world.run("day1.csv", job_id="job-2", table="events") == EXIT_OK  # delivered twice
    assert world.both("SELECT count(*) FROM events") == [(2,)]
    assert "skipped (already appended)" in capsys.readouterr().out
    assert world.run("day1.csv", "--force", job_id="job-3", table="events") == EXIT_OK
    assert world.both("SELECT name, count(*) FROM events GROUP BY name ORDER BY name") == [
        ("a", 2),
        ("b", 2),
    ]
    assert world.both(LEDGER) == [
        ("day1.csv", "append", "job-1", 2, 0, False),
        ("day1.csv", "append", "job-3", 2, 0, True),
    ]


def test_append_a_duplicate_key_changes_nothing(world: World) -> None:
    world.s3.put(BUCKET, "a.csv", persons((1, 10001)))
    world.s3.put(BUCKET, "b.csv", persons((1, 10001), (2, 10002)))
    assert world.run("a.csv", "--mode", "append") == EXIT_OK
    assert world.run("b.csv", "--mode", "append") == EXIT_FAILED
    assert world.both("SELECT id FROM persons") == [("P1",)]
    assert world.both("SELECT key FROM s3batch_load_history") == [("a.csv",)]


def test_upsert_updates_changed_rows_only(world: World) -> None:
    world.s3.put(BUCKET, "all.csv", persons((1, 10001), (2, 10002), (3, 10003)))
    assert world.run("all.csv") == EXIT_OK
    before = dict(world.pg_query("SELECT id, xmin::text FROM persons"))
    world.s3.put(BUCKET, "delta.csv", persons((1, 10001), (2, 20002), (4, 10004)))
    assert world.run("delta.csv", "--mode", "upsert") == EXIT_OK
    assert world.both("SELECT id, postal FROM persons ORDER BY id") == [
        ("P1", 10001),
        ("P2", 20002),
        ("P3", 10003),
        ("P4", 10004),
    ]
    after = dict(world.pg_query("SELECT id, xmin::text FROM persons"))
    assert after["P1"] == before["P1"] and after["P3"] == before["P3"]  # untouched
    assert after["P2"] != before["P2"]
    assert world.both("SELECT mode FROM s3batch_load_history ORDER BY loaded_at") == [
        ("replace",),
        ("upsert",),
    ]


def test_max_errors_writes_rejects(world: World) -> None:
    world.s3.put(BUCKET, "in/day.csv", persons((1, 10001), (2, 10002)) + b"P3,bad\n")
    assert world.run("in/day.csv", "--max-errors", "1") == EXIT_OK
    assert world.both("SELECT id FROM persons ORDER BY id") == [("P1",), ("P2",)]
    rejects = world.s3.objects[BUCKET, "in/day.csv.rejects.csv"].decode().splitlines()
    assert rejects[1] == '3,,"expected 5 fields, found 2 (no ""state"")","P3,bad"'
    assert world.both("SELECT rows_loaded, rows_rejected FROM s3batch_load_history") == [(2, 1)]


def test_over_max_errors_changes_no_target(world: World) -> None:
    world.s3.put(BUCKET, "ok.csv", persons((1, 10001)))
    assert world.run("ok.csv") == EXIT_OK
    world.s3.put(BUCKET, "bad.csv", b"P2,bad\nP3,bad\n")
    assert world.run("bad.csv", "--max-errors", "1", "--mode", "append") == EXIT_FAILED
    assert world.both("SELECT id FROM persons") == [("P1",)]
    assert world.both("SELECT count(*) FROM s3batch_load_history") == [(1,)]
    assert (BUCKET, "bad.csv.rejects.csv") in world.s3.objects


def test_gzip_json_lines(world: World) -> None:
    lines = [
        {"id": f"P{i}", "email": f"p{i}@x.org", "state": "NY", "postal": 10000 + i, "address": "a"}
        for i in range(1, 4)
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    world.s3.put(BUCKET, "rows.jsonl.gz", gzip.compress(data))
    assert world.run("rows.jsonl.gz", "--format", "jsonl") == EXIT_OK
    assert world.both("SELECT id, postal FROM persons ORDER BY id") == [
        ("P1", 10001),
        ("P2", 10002),
        ("P3", 10003),
    ]


def test_csv_options_keep_empty_strings_apart_from_null(world: World) -> None:
    data = 'Note Text,id\n"",1\nNULL,2\n"say \\"hi\\"",3\n,4\n'
    world.s3.put(BUCKET, "notes.csv", data.encode())
    assert world.run("notes.csv", table="notes") == EXIT_OK
    expected = [(1, "", False), (2, None, True), (3, 'say "hi"', False), (4, "", False)]
    sql = "SELECT id, note, note IS NULL FROM notes ORDER BY id"
    assert world.pg_query(sql) == expected
    assert world.duck_query(sql) == expected
