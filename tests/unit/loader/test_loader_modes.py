"""Load modes, the ledger, rejects files and gzip, through the job with in-memory sinks."""

from __future__ import annotations

import gzip
import io
import threading
from pathlib import Path
from typing import Any

import pytest
from botocore.response import StreamingBody

from s3batch.loader.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from s3batch.loader.connections import Target
from s3batch.loader.job import Clients
from s3batch.loader.rejects import REJECTS_OF
from s3batch.loader.sinks import Echo, Sink
from s3batch.loader.sinks.memory import MemoryDatabase, MemorySink
from s3batch.loader.tables import TableDef
from s3batch.loader.testing import FakeS3, FakeSecrets


def persons(*rows: tuple[int, str]) -> bytes:
    return "".join(
        f"P{i},p{i}@example.com,NY,{postal},{i} Main St\n" for i, postal in rows
    ).encode()


class World:
    """Fake S3 and secrets, and one in-memory database per target."""

    def __init__(self) -> None:
        self.s3 = FakeS3()
        self.secrets = FakeSecrets({"A": {"engine": "duckdb", "path": "a.duckdb"}})
        self.db = MemoryDatabase()

    def sink(self, target: Target, table: TableDef, echo: Echo) -> Sink:
        return MemorySink(self.db, table, echo, label=target.label)

    def run(self, key: str, *extra: str, environ: dict[str, str] | None = None) -> int:
        argv = ["load", "--bucket", "b", "--key", key, "--table", "persons", "--target", "A"]
        return main(
            [*argv, *extra],
            clients=Clients(self.s3, self.secrets),
            environ=environ or {},
            make_sink=self.sink,
        )

    def ids(self) -> list[str | None]:
        return [row[0] for row in self.db.tables["persons"]]


@pytest.fixture
def world() -> World:
    return World()


def test_append_once_per_version(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.s3.put("b", "day1.csv", persons((1, "10001"), (2, "10002")))
    environ = {"AWS_BATCH_JOB_ID": "job-1"}
    assert world.run("day1.csv", "--mode", "append", environ=environ) == EXIT_OK
    assert world.run("day1.csv", "--mode", "append") == EXIT_OK  # delivered twice
    assert world.ids() == ["P1", "P2"]
    assert "already appended" in capsys.readouterr().out
    (entry,) = world.db.ledger
    assert (entry.bucket, entry.key, entry.table, entry.mode) == (
        "b",
        "day1.csv",
        "persons",
        "append",
    )
    assert (entry.job_id, entry.rows_loaded, entry.rows_rejected) == ("job-1", 2, 0)
    assert len(entry.version) == 32  # the ETag, without its quotes


class StallingBody(io.RawIOBase):
    """An object body that sends its first piece, then stalls (a slow network) until it is
    closed, or for ``patience`` seconds, then sends the rest."""

    def __init__(self, data: bytes, first: int, patience: float = 10.0) -> None:
        self._data, self._first, self._patience = data, first, patience
        self._sent = 0
        self.closed_early = threading.Event()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._sent >= self._first and not self.closed_early.wait(self._patience):
            self._first = len(self._data)  # nobody closed it: the rest comes
        if self.closed_early.is_set():
            return 0
        piece = self._data[self._sent : min(self._first, self._sent + len(buffer))]
        buffer[: len(piece)] = piece
        self._sent += len(piece)
        return len(piece)

    def close(self) -> None:
        if self._sent < len(self._data):
            self.closed_early.set()
        super().close()


def test_an_append_every_target_holds_is_not_read_again(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    data = persons(*((i, str(10000 + i)) for i in range(20_000)))  # ~0.8 MB
    world.s3.put("b", "day1.csv", data)
    assert world.run("day1.csv", "--mode", "append") == EXIT_OK
    capsys.readouterr()
    body = StallingBody(data, first=64 * 1024)
    stalled = {
        **world.s3.get_object(Bucket="b", Key="day1.csv"),
        "Body": StreamingBody(body, len(data)),
    }
    world.s3.get_object = lambda **_: stalled  # type: ignore[method-assign]
    assert world.run("day1.csv", "--mode", "append") == EXIT_OK  # delivered twice
    assert body.closed_early.is_set()  # the ledger answered: the rest was never waited for
    out = capsys.readouterr().out
    assert ": skipped (already appended)" in out
    assert "Nothing loaded from s3://b/day1.csv: every target holds this version" in out
    assert len(world.ids()) == 20_000 and len(world.db.ledger) == 1


def test_force_appends_again(world: World) -> None:
    world.s3.put("b", "day1.csv", persons((1, "10001")))
    assert world.run("day1.csv", "--mode", "append") == EXIT_OK
    assert world.run("day1.csv", "--mode", "append", "--force") == EXIT_OK
    assert world.ids() == ["P1", "P1"]
    assert [e.forced for e in world.db.ledger] == [False, True]


def test_a_new_version_appends(world: World) -> None:
    world.s3.put("b", "day.csv", persons((1, "10001")))
    assert world.run("day.csv", "--mode", "append") == EXIT_OK
    world.s3.put("b", "day.csv", persons((2, "10002")))
    assert world.run("day.csv", "--mode", "append") == EXIT_OK
    assert world.ids() == ["P1", "P2"]


def test_replace_and_upsert_are_recorded_and_repeatable(world: World) -> None:
    world.s3.put("b", "all.csv", persons((1, "10001"), (2, "10002")))
    world.s3.put("b", "delta.csv", persons((2, "20002"), (3, "10003")))
    assert world.run("all.csv") == EXIT_OK
    assert world.run("all.csv") == EXIT_OK
    assert world.run("delta.csv", "--mode", "upsert") == EXIT_OK
    assert [(r[0], r[3]) for r in world.db.tables["persons"]] == [
        ("P1", "10001"),
        ("P2", "20002"),
        ("P3", "10003"),
    ]
    assert [e.mode for e in world.db.ledger] == ["replace", "replace", "upsert"]


def test_rejects_file_next_to_the_object(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.s3.put("b", "in/day.csv", persons((1, "10001"), (2, "12a45"), (3, "10003")))
    assert world.run("in/day.csv", "--max-errors", "1") == EXIT_OK
    assert world.ids() == ["P1", "P3"]
    rejects = world.s3.objects["b", "in/day.csv.rejects.csv"].decode().splitlines()
    assert rejects == [
        "line,column,reason,record",
        '2,postal,"""12a45"" is not a valid numeric(10)","P2,p2@example.com,NY,12a45,2 Main St"',
    ]
    out = capsys.readouterr().out
    assert "1 bad row(s) rejected (max_errors 1)" in out
    assert '  line 2, column "postal": "12a45" is not a valid numeric(10)' in out
    assert "rejected rows written to s3://b/in/day.csv.rejects.csv" in out
    assert world.db.ledger[0].rows_rejected == 1
    version = world.s3.head_object(Bucket="b", Key="in/day.csv")["ETag"].strip('"')
    assert world.s3.metadata["b", "in/day.csv.rejects.csv"] == {REJECTS_OF: version}


def test_a_load_without_rejects_removes_those_of_an_earlier_version(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.s3.put("b", "day.csv", persons((1, "10001"), (2, "12a45")))
    assert world.run("day.csv", "--max-errors", "1") == EXIT_OK
    first = world.s3.head_object(Bucket="b", Key="day.csv")["ETag"].strip('"')
    assert ("b", "day.csv.rejects.csv") in world.s3.objects
    world.s3.put("b", "day.csv", persons((1, "10001"), (2, "12045")))  # fixed
    assert world.run("day.csv", "--max-errors", "1") == EXIT_OK
    assert ("b", "day.csv.rejects.csv") not in world.s3.objects
    assert world.ids() == ["P1", "P2"]
    out = capsys.readouterr().out
    assert f"removed s3://b/day.csv.rejects.csv, the rejects of version {first}" in out


def test_a_file_named_like_rejects_that_the_loader_did_not_write_is_left_alone(
    world: World,
) -> None:
    world.s3.put("b", "day.csv.rejects.csv", b"mine\n")
    world.s3.put("b", "day.csv", persons((1, "10001")))
    assert world.run("day.csv") == EXIT_OK
    assert world.s3.objects["b", "day.csv.rejects.csv"] == b"mine\n"


def test_too_many_bad_rows_change_nothing(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.s3.put("b", "ok.csv", persons((9, "10009")))
    assert world.run("ok.csv") == EXIT_OK
    world.s3.put("b", "bad.csv", persons((1, "x"), (2, "y")))
    assert world.run("bad.csv", "--max-errors", "1") == EXIT_FAILED
    assert world.ids() == ["P9"] and len(world.db.ledger) == 1
    assert len(world.s3.objects["b", "bad.csv.rejects.csv"].decode().splitlines()) == 3
    err = capsys.readouterr().err
    assert "(2 bad rows, more than max_errors 1); no target was changed" in err


def test_rejects_files_are_not_loaded(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.s3.put("b", "x.csv.rejects.csv", b"line,column,reason,record\n")
    assert world.run("x.csv.rejects.csv") == EXIT_OK
    assert "is a rejects file written by the loader: not loaded" in capsys.readouterr().out
    assert world.db.tables == {}


def test_gzip_by_extension_or_content_encoding(world: World) -> None:
    world.s3.put("b", "a.csv.gz", gzip.compress(persons((1, "10001"))))
    assert world.run("a.csv.gz") == EXIT_OK
    assert world.ids() == ["P1"]
    world.s3.put("b", "b.csv", gzip.compress(persons((2, "10002"))), encoding="gzip")
    assert world.run("b.csv") == EXIT_OK
    assert world.ids() == ["P2"]


def test_format_and_mode_flags(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    data = b'{"id": "P1", "email": "a@b.c", "state": "NY", "postal": 10001, "address": "x"}\n'
    world.s3.put("b", "a.jsonl", data)
    assert world.run("a.jsonl", "--format", "jsonl") == EXIT_OK
    assert world.db.tables["persons"] == [("P1", "a@b.c", "NY", "10001", "x")]
    assert world.run("a.jsonl", "--max-errors", "-1") == EXIT_USAGE
    assert "is not a whole number" in capsys.readouterr().err


def test_summary_line_per_target(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.s3.put("b", "a.csv", persons((1, "10001")))
    assert world.run("a.csv") == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert any(
        line.startswith("persons on duckdb a.duckdb: 1 rows loaded, 0 rejected, ") for line in lines
    )


@pytest.mark.parametrize(
    ("postal", "expected"),
    [
        # Rows are counted as the object downloads (one piece here). 1.0001e4 is a valid
        # numeric(10) that the fast path's pattern refuses: the checked path then reads
        # the rows, with a progress line every PROGRESS_ROWS rows.
        ("1.0001e4", ["downloaded 5 rows", "read 2 rows", "read 4 rows"]),
        ("10001", ["downloaded 5 rows"]),
    ],
)
def test_progress_lines(
    world: World,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    postal: str,
    expected: list[str],
) -> None:
    monkeypatch.setattr("s3batch.loader.job.PROGRESS_ROWS", 2)
    monkeypatch.setattr("s3batch.loader.job.PROGRESS_SECONDS", 0.0)
    monkeypatch.setattr("s3batch.loader.download.PROGRESS_SECONDS", 0.0)
    world.s3.put("b", "a.csv", persons(*((i, postal) for i in range(1, 6))))
    assert world.run("a.csv") == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    progress = [line for line in lines if line.startswith(("read ", "downloaded "))]
    assert [line.split(" (")[0] for line in progress] == expected
    assert all(line.endswith(" rows/s)") for line in progress)


def test_a_stack_table_can_allow_an_empty_replace(world: World, tmp_path: Path) -> None:
    stack = tmp_path / "stack.yaml"
    stack.write_text(
        "tables:\n  - tableName: persons\n    allowEmpty: true\n"
        "    columns: [{name: id, type: text}]\n"
    )
    world.s3.put("b", "one.csv", b"x\n")
    world.s3.put("b", "empty.csv", b"")
    for key in ("one.csv", "empty.csv"):
        assert world.run(key, "--stack", str(stack)) == EXIT_OK
    assert world.db.tables["persons"] == []
    assert [e.rows_loaded for e in world.db.ledger] == [1, 0]


@pytest.mark.parametrize("key", ["-report.csv", "--help", "--key"])
def test_a_key_that_starts_with_a_dash_is_a_key(world: World, key: str) -> None:
    world.s3.put("b", key, persons((1, "10001")))
    assert world.run(key) == EXIT_OK
    assert world.ids() == ["P1"]
