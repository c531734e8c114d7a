"""Append with the ledger, upsert, rejects, gzip and JSON lines on a real PostgreSQL, DuckDB and
SQLite: every test loads the three targets at once and checks that they agree."""

from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from pg import Secret, connect, create_database, start_postgres
from s3batch.loader.cli import EXIT_FAILED, EXIT_OK, main
from s3batch.loader.connections import RedshiftTarget, Target, parse_target
from s3batch.loader.errors import LoadConfigError, LoaderError
from s3batch.loader.history import loaded_versions, read_history
from s3batch.loader.job import Clients
from s3batch.loader.testing import FakeS3, FakeSecrets

BUCKET = "landing"
TARGETS = ("pg", "duck", "lite")
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
    lite_path: Path
    s3: FakeS3

    @property
    def secrets(self) -> dict[str, Secret]:
        """The secret of each target, by id."""
        return {
            "pg": self.pg,
            "duck": {"engine": "duckdb", "path": str(self.duck_path)},
            "lite": {"engine": "sqlite", "path": str(self.lite_path)},
        }

    def target(self, secret_id: str) -> Target:
        return parse_target(secret_id, self.secrets[secret_id])

    def run(self, key: str, *extra: str, job_id: str = "job-1", table: str = "persons") -> int:
        secrets = FakeSecrets(self.secrets)
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

    def lite_query(self, sql: str) -> list[tuple[object, ...]]:
        with closing(sqlite3.connect(self.lite_path)) as conn:
            return conn.execute(sql).fetchall()

    def every(self, sql: str) -> list[tuple[object, ...]]:
        """The rows of ``sql`` in PostgreSQL, once DuckDB and SQLite are seen to agree."""
        pg = self.pg_query(sql)
        for other in (self.duck_query(sql), self.lite_query(sql)):
            assert _plain(other) == _plain(pg)
        return pg


def _plain(rows: Sequence[tuple[object, ...]]) -> list[tuple[str, ...]]:
    """Rows as text, booleans as 0/1 (SQLite has no boolean type)."""
    return [tuple(str(int(v)) if isinstance(v, bool) else str(v) for v in r) for r in rows]


@pytest.fixture
def world(server: Secret, tmp_path: Path) -> World:
    return World(
        create_database(server), tmp_path / "warehouse.duckdb", tmp_path / "lite.db", FakeS3()
    )


LEDGER = (
    "SELECT key, mode, job_id, rows_loaded, rows_rejected, forced "
    "FROM s3batch_load_history ORDER BY loaded_at"
)


def test_append_once_then_force(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.s3.put(BUCKET, "day1.csv", b"a,1\nb,2\n")
    assert world.run("day1.csv", table="events") == EXIT_OK
    assert world.run("day1.csv", job_id="job-2", table="events") == EXIT_OK  # delivered twice
    assert world.every("SELECT count(*) FROM events") == [(2,)]
    assert "skipped (already appended)" in capsys.readouterr().out
    assert world.run("day1.csv", "--force", job_id="job-3", table="events") == EXIT_OK
    assert world.every("SELECT name, count(*) FROM events GROUP BY name ORDER BY name") == [
        ("a", 2),
        ("b", 2),
    ]
    assert world.every(LEDGER) == [
        ("day1.csv", "append", "job-1", 2, 0, False),
        ("day1.csv", "append", "job-3", 2, 0, True),
    ]


def test_append_a_duplicate_key_changes_nothing(world: World) -> None:
    world.s3.put(BUCKET, "a.csv", persons((1, 10001)))
    world.s3.put(BUCKET, "b.csv", persons((1, 10001), (2, 10002)))
    assert world.run("a.csv", "--mode", "append") == EXIT_OK
    assert world.run("b.csv", "--mode", "append") == EXIT_FAILED
    assert world.every("SELECT id FROM persons") == [("P1",)]
    assert world.every("SELECT key FROM s3batch_load_history") == [("a.csv",)]


def test_a_folder_marker_is_not_loaded(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.s3.put(BUCKET, "a.csv", persons((1, 10001)))
    assert world.run("a.csv") == EXIT_OK
    world.s3.put(BUCKET, "in/", b"")  # what an S3 console's "Create folder" stores
    capsys.readouterr()
    assert world.run("in/") == EXIT_OK
    out = capsys.readouterr().out
    assert "s3://landing/in/ is a folder marker (its key ends in /): not loaded" in out
    assert "Loaded" not in out  # no summary of a load that did not happen
    assert world.every("SELECT id FROM persons") == [("P1",)]
    assert world.every("SELECT key FROM s3batch_load_history") == [("a.csv",)]


@pytest.mark.parametrize("data", [b"", b"\n\n"])
def test_replace_refuses_a_file_with_no_rows(
    world: World, capsys: pytest.CaptureFixture[str], data: bytes
) -> None:
    world.s3.put(BUCKET, "a.csv", persons((1, 10001)))
    assert world.run("a.csv") == EXIT_OK
    world.s3.put(BUCKET, "empty.csv", data)
    capsys.readouterr()
    assert world.run("empty.csv") == EXIT_FAILED
    assert capsys.readouterr().err == (
        "load failed: s3://landing/empty.csv has no rows: replace would empty table persons; "
        "pass --allow-empty to do that on purpose; no target was changed\n"
    )
    assert world.every("SELECT id FROM persons") == [("P1",)]
    assert world.every("SELECT key FROM s3batch_load_history") == [("a.csv",)]
    assert world.run("empty.csv", "--allow-empty") == EXIT_OK
    assert world.every("SELECT count(*) FROM persons") == [(0,)]
    assert world.every("SELECT key, rows_loaded FROM s3batch_load_history ORDER BY loaded_at") == [
        ("a.csv", 1),
        ("empty.csv", 0),
    ]


@pytest.mark.parametrize("mode", ["append", "upsert"])
def test_appending_or_upserting_an_empty_file_records_it(world: World, mode: str) -> None:
    world.s3.put(BUCKET, "a.csv", persons((1, 10001)))
    assert world.run("a.csv") == EXIT_OK
    world.s3.put(BUCKET, "empty.csv", b"")
    assert world.run("empty.csv", "--mode", mode) == EXIT_OK
    assert world.every("SELECT id FROM persons") == [("P1",)]
    assert world.every(LEDGER)[1:] == [("empty.csv", mode, "job-1", 0, 0, False)]


def test_upsert_updates_changed_rows_only(world: World) -> None:
    world.s3.put(BUCKET, "all.csv", persons((1, 10001), (2, 10002), (3, 10003)))
    assert world.run("all.csv") == EXIT_OK
    before = dict(world.pg_query("SELECT id, xmin::text FROM persons"))
    with closing(sqlite3.connect(world.lite_path)) as conn, conn:
        conn.execute("CREATE TABLE updated (id text)")
        conn.execute(
            "CREATE TRIGGER seen AFTER UPDATE ON persons "
            "BEGIN INSERT INTO updated VALUES (new.id); END"
        )
    world.s3.put(BUCKET, "delta.csv", persons((1, 10001), (2, 20002), (4, 10004)))
    assert world.run("delta.csv", "--mode", "upsert") == EXIT_OK
    assert world.every("SELECT id, postal FROM persons ORDER BY id") == [
        ("P1", 10001),
        ("P2", 20002),
        ("P3", 10003),
        ("P4", 10004),
    ]
    after = dict(world.pg_query("SELECT id, xmin::text FROM persons"))
    assert after["P1"] == before["P1"] and after["P3"] == before["P3"]  # untouched
    assert after["P2"] != before["P2"]
    assert world.lite_query("SELECT id FROM updated") == [("P2",)]
    assert world.every("SELECT mode FROM s3batch_load_history ORDER BY loaded_at") == [
        ("replace",),
        ("upsert",),
    ]


def test_max_errors_writes_rejects(world: World) -> None:
    world.s3.put(BUCKET, "in/day.csv", persons((1, 10001), (2, 10002)) + b"P3,bad\n")
    assert world.run("in/day.csv", "--max-errors", "1") == EXIT_OK
    assert world.every("SELECT id FROM persons ORDER BY id") == [("P1",), ("P2",)]
    rejects = world.s3.objects[BUCKET, "in/day.csv.rejects.csv"].decode().splitlines()
    assert rejects[1] == '3,,"expected 5 fields, found 2 (no ""state"")","P3,bad"'
    assert world.every("SELECT rows_loaded, rows_rejected FROM s3batch_load_history") == [(2, 1)]


def test_over_max_errors_changes_no_target(world: World) -> None:
    world.s3.put(BUCKET, "ok.csv", persons((1, 10001)))
    assert world.run("ok.csv") == EXIT_OK
    world.s3.put(BUCKET, "bad.csv", b"P2,bad\nP3,bad\n")
    assert world.run("bad.csv", "--max-errors", "1", "--mode", "append") == EXIT_FAILED
    assert world.every("SELECT id FROM persons") == [("P1",)]
    assert world.every("SELECT count(*) FROM s3batch_load_history") == [(1,)]
    assert (BUCKET, "bad.csv.rejects.csv") in world.s3.objects


def test_gzip_json_lines(world: World) -> None:
    lines = [
        {"id": f"P{i}", "email": f"p{i}@x.org", "state": "NY", "postal": 10000 + i, "address": "a"}
        for i in range(1, 4)
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    world.s3.put(BUCKET, "rows.jsonl.gz", gzip.compress(data))
    assert world.run("rows.jsonl.gz", "--format", "jsonl") == EXIT_OK
    assert world.every("SELECT id, postal FROM persons ORDER BY id") == [
        ("P1", 10001),
        ("P2", 10002),
        ("P3", 10003),
    ]


def test_a_duplicate_key_on_the_checked_path_names_both_lines(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    line = '{"id": "P%d", "email": "e", "state": "NY", "postal": 1, "address": "a"}\n'
    data = "".join(line % i for i in (1, 2, 3)) + "\n" + line % 2
    world.s3.put(BUCKET, "rows.jsonl", data.encode())
    assert world.run("rows.jsonl", "--format", "jsonl") == EXIT_FAILED
    assert capsys.readouterr().err == (
        "load failed: line 5: duplicate primary key (id)=(P2), first seen on line 2; "
        "no target was changed\n"
    )


def test_csv_options_keep_empty_strings_apart_from_null(world: World) -> None:
    data = 'Note Text,id\n"",1\nNULL,2\n"say \\"hi\\"",3\n,4\n'
    world.s3.put(BUCKET, "notes.csv", data.encode())
    assert world.run("notes.csv", table="notes") == EXIT_OK
    expected = [(1, "", False), (2, None, True), (3, 'say "hi"', False), (4, "", False)]
    sql = "SELECT id, note, note IS NULL FROM notes ORDER BY id"
    assert world.pg_query(sql) == expected
    assert world.duck_query(sql) == expected
    assert world.lite_query(sql) == [(i, note, int(null)) for i, note, null in expected]


@pytest.mark.parametrize("secret_id", TARGETS)
def test_read_history_newest_first_by_table_and_limited(world: World, secret_id: str) -> None:
    world.s3.put(BUCKET, "a.csv", persons((1, 10001)))
    world.s3.put(BUCKET, "day1.csv", b"a,1\n")
    assert world.run("a.csv", job_id="job-a") == EXIT_OK
    assert world.run("day1.csv", job_id="job-b", table="events") == EXIT_OK
    target = world.target(secret_id)
    history = read_history(target)
    assert [(e.key, e.table, e.mode, e.job_id, e.rows_loaded) for e in history] == [
        ("day1.csv", "events", "append", "job-b", 1),
        ("a.csv", "persons", "replace", "job-a", 1),
    ]
    assert history[0].loaded_at >= history[1].loaded_at and not history[0].forced
    assert [e.key for e in read_history(target, table="persons")] == ["a.csv"]
    assert [e.key for e in read_history(target, limit=1)] == ["day1.csv"]
    etag = hashlib.md5(b"a,1\n").hexdigest()
    assert loaded_versions(target, table="events") == {(BUCKET, "day1.csv", etag, "events")}


@pytest.mark.parametrize("secret_id", TARGETS)
def test_read_history_of_a_target_never_loaded_is_empty(world: World, secret_id: str) -> None:
    assert read_history(world.target(secret_id)) == []  # no ledger table (no file)
    world.lite_query("CREATE TABLE other (x integer)")
    with duckdb.connect(str(world.duck_path)) as conn:
        conn.execute("CREATE TABLE other (x integer)")
    assert read_history(world.target(secret_id), table="persons") == []


def test_read_history_of_a_locked_duckdb_file_is_a_clear_error(world: World) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(world.duck_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(LoaderError, match="is locked by another process"):
            read_history(world.target("duck"))
    finally:
        holder.communicate("")
    assert read_history(world.target("duck")) == []


#: A process that holds a DuckDB file open (as a running load does) until its stdin closes.
_HOLD_LOCK = """
import sys, duckdb
conn = duckdb.connect(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()
"""


def test_read_history_refuses_redshift_and_hides_logins(world: World) -> None:
    redshift = RedshiftTarget("rs", "h", 5439, "dev", "user", "pw", "arn:aws:iam::1:role/r", "x")
    with pytest.raises(LoadConfigError, match="not supported locally"):
        read_history(redshift)
    wrong = {**world.pg, "password": "Wr0ng-Pa55word-31337"}
    with pytest.raises(LoaderError) as caught:
        read_history(parse_target("bad", wrong))
    message = str(caught.value)
    assert 'password authentication failed for user "***"' in message
    assert "Wr0ng-Pa55word-31337" not in message and caught.value.__cause__ is None
