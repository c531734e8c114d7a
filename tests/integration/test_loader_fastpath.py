"""The fast path (the databases parse the file) on a real PostgreSQL and DuckDB.

It must store exactly what the checked path (the row checker in Python) stores, report a
value only a database refuses by line, column and reason, and leave every target as it
was when a load fails.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pg import Secret, connect, create_database, start_postgres
from s3batch.loader.cli import EXIT_FAILED, EXIT_OK, main
from s3batch.loader.job import Clients
from s3batch.loader.testing import FakeS3, FakeSecrets

BUCKET = "landing"
FAST = "as it downloads, and every line is checked"
FALLBACK = "checking every row of the file in Python"
COLUMNS = [
    {"name": "id", "type": "integer", "primaryKey": True},
    {"name": "amount", "type": "numeric(6,2)"},
    {"name": "ratio", "type": "double precision"},
    {"name": "flag", "type": "boolean"},
    {"name": "day", "type": "date"},
    {"name": "at", "type": "timestamp"},
    {"name": "code", "type": "varchar(3)", "nullable": False},
    {"name": "note", "type": "text"},
]
#: ``typed`` takes the fast path; ``checked`` has the same columns, and a null string
#: (which no file here holds) that only the checked path reads.
TABLES = [
    {"tableName": "typed", "format": {"header": True}, "columns": COLUMNS},
    {"tableName": "checked", "format": {"header": True, "null": "NULL"}, "columns": COLUMNS},
    {
        "tableName": "pairs",
        "columns": [
            {"name": "id", "type": "integer", "primaryKey": True},
            {"name": "code", "type": "varchar(3)", "primaryKey": True},
            {"name": "note", "type": "text"},
        ],
    },
]
HEADER = ",".join(c["name"] for c in COLUMNS)
#: Every value in a spelling the pattern takes but that a database must convert.
SPELLED = (
    f"\ufeff{HEADER}\r\n"
    '"1", 004.50 ,+1.25,TRUE,2024-02-29, 2024-02-29T10:00:59.5 ,"a,b","say ""hi"""\r\n'
    "2,-0,-0.5,f,,2024-02-29 23:59,x  ,\r\n"
    '3,,,1,1999-12-31,,"z",""\r\n'
    "4,7.1,1,0,2000-01-01,2000-01-01 00:00:00.000001,é,  spaced  "
)


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secret]:
    secret, stop = start_postgres(tmp_path_factory.mktemp("fastpath-pg"))
    yield secret
    stop()


@dataclass
class World:
    pg: Secret
    duck_path: Path
    stack: Path
    s3: FakeS3

    def run(
        self, key: str, table: str, *extra: str, targets: tuple[str, ...] = ("pg", "duck")
    ) -> int:
        secrets = FakeSecrets(
            {"pg": self.pg, "duck": {"engine": "duckdb", "path": str(self.duck_path)}}
        )
        argv = ["--bucket", BUCKET, "--key", key, "--table", table, "--stack", str(self.stack)]
        argv += [arg for t in targets for arg in ("--target", t)]
        return main([*argv, *extra], clients=Clients(self.s3, secrets), environ={})

    def rows(self, table: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        """The table's rows in PostgreSQL and in DuckDB."""
        query = f"SELECT * FROM {table} ORDER BY id"
        with connect(self.pg) as conn:
            pg = conn.execute(query).fetchall()
        with duckdb.connect(str(self.duck_path)) as conn:
            return pg, conn.execute(query).fetchall()


@pytest.fixture
def world(postgres: Secret, tmp_path: Path) -> World:
    stack = tmp_path / "stack.yaml"
    stack.write_text(json.dumps({"tables": TABLES}))
    return World(create_database(postgres), tmp_path / "warehouse.duckdb", stack, FakeS3())


def test_the_fast_path_stores_what_the_checked_path_stores(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.s3.put(BUCKET, "spelled.csv", SPELLED.encode())
    assert world.run("spelled.csv", "typed") == EXIT_OK
    assert FAST in capsys.readouterr().out
    assert world.run("spelled.csv", "checked") == EXIT_OK
    assert FAST not in capsys.readouterr().out
    fast, checked = world.rows("typed"), world.rows("checked")
    assert fast == checked
    assert [r[6:] for r in fast[0]] == [
        ("a,b", 'say "hi"'),
        ("x  ", None),
        ("z", None),
        ("é", "  spaced  "),
    ]


@pytest.mark.parametrize("end", ["\n", "\r\n"])
@pytest.mark.parametrize("inside", ["\r\n", "\r", "\n"])
def test_a_quoted_line_break_in_the_first_row_loads_everywhere(
    world: World, end: str, inside: str
) -> None:
    header = "id,amount,ratio,flag,day,at,code,note"
    body = (
        f'{header}{end}1,1.00,1,t,2024-01-01,2024-01-01 00:00:00,abc,"a{inside}b"{end}'
        f"2,2.00,2,f,2024-01-02,2024-01-02 00:00:00,def,plain{end}"
    )
    world.s3.put(BUCKET, "breaks.csv", body.encode())
    assert world.run("breaks.csv", "typed") == EXIT_OK
    pg, duck = world.rows("typed")
    assert [r[7] for r in pg] == [r[7] for r in duck] == [f"a{inside}b", "plain"]


@pytest.mark.parametrize("targets", [("pg", "duck"), ("duck",)])
def test_a_value_only_a_database_refuses_is_reported_by_line_and_column(
    world: World, capsys: pytest.CaptureFixture[str], targets: tuple[str, ...]
) -> None:
    world.s3.put(BUCKET, "good.csv", SPELLED.encode())
    assert world.run("good.csv", "typed", targets=targets) == EXIT_OK
    before = world.rows("typed") if targets == ("pg", "duck") else None
    capsys.readouterr()
    # 2023-02-29 has the pattern's shape; the databases and the checker refuse it.
    world.s3.put(
        BUCKET, "bad.csv", f"{HEADER}\n9,1,1,t,2023-01-01,,x,\n8,1,1,t,2023-02-29,,x,\n".encode()
    )
    assert world.run("bad.csv", "typed", targets=targets) == EXIT_FAILED
    out, err = capsys.readouterr()
    assert FAST in out and FALLBACK in out
    if "pg" in targets:  # the login user, s3batch, is masked as the login only
        assert "COPY typed__s3batch_new, line" in out and "__***_" not in out
    assert err == (
        'load failed: line 3, column "day": "2023-02-29" is not a valid date (YYYY-MM-DD); '
        "no target was changed\n"
    )
    if before is not None:
        assert world.rows("typed") == before


def test_max_errors_keeps_a_row_a_database_refuses_as_a_reject(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    data = f"{HEADER}\n1,1,1,t,2023-01-01,,x,\n2,1,1,t,2023-02-29,,x,\n3,1,1,t,,,y,\n"
    world.s3.put(BUCKET, "some-bad.csv", data.encode())
    assert world.run("some-bad.csv", "typed", "--max-errors", "1") == EXIT_OK
    assert FALLBACK in capsys.readouterr().out
    pg, duck = world.rows("typed")
    assert [r[0] for r in pg] == [r[0] for r in duck] == [1, 3]
    rejects = world.s3.objects[BUCKET, "some-bad.csv.rejects.csv"].decode()
    assert '3,day,"""2023-02-29"" is not a valid date (YYYY-MM-DD)",' in rejects


@pytest.mark.parametrize(
    ("mode", "second", "message"),
    [  # a duplicate in the file is named by its lines; one already in the table by its key
        ("replace", "1,1,1,t,,,x,\n2,1,1,t,,,x,\n1,1,1,t,,,y,\n",
         "line 4: duplicate primary key (id)=(1), first seen on line 2"),
        ("append", "2,1,1,t,,,x,\n1,1,1,t,,,y,\n", "Key (id)=(1) already exists."),
        ("upsert", "2,1,1,t,,,x,\n2,1,1,t,,,y,\n",
         "line 3: duplicate primary key (id)=(2), first seen on line 2"),
    ],
)  # fmt: skip
def test_duckdb_checks_keys_without_an_index(
    world: World, capsys: pytest.CaptureFixture[str], mode: str, second: str, message: str
) -> None:
    world.s3.put(BUCKET, "first.csv", f"{HEADER}\n1,1,1,t,,,x,\n".encode())
    assert world.run("first.csv", "typed", targets=("duck",)) == EXIT_OK
    world.s3.put(BUCKET, "second.csv", f"{HEADER}\n{second}".encode())
    assert world.run("second.csv", "typed", "--mode", mode, targets=("duck",)) == EXIT_FAILED
    assert message in capsys.readouterr().err
    with duckdb.connect(str(world.duck_path)) as conn:
        assert conn.execute("SELECT id, code FROM typed").fetchall() == [(1, "x")]


def test_duckdb_checks_millions_of_integer_keys_within_its_memory_limit(world: World) -> None:
    # Grouping them (DuckDB's hash aggregate) ran out of the 80 MB limit at 1.5M integer keys.
    rows = 2_000_000
    first = "".join(f"{i},,,,,,x,\n" for i in range(rows))
    world.s3.put(BUCKET, "many.csv", f"{HEADER}\n{first}".encode())
    assert world.run("many.csv", "typed", targets=("duck",)) == EXIT_OK
    more = "".join(f"{i},,,,,,y,\n" for i in range(rows, 2 * rows))
    world.s3.put(BUCKET, "more.csv", f"{HEADER}\n{more}".encode())
    assert world.run("more.csv", "typed", "--mode", "append", targets=("duck",)) == EXIT_OK
    assert world.run("many.csv", "typed", "--mode", "upsert", targets=("duck",)) == EXIT_OK
    with duckdb.connect(str(world.duck_path)) as conn:
        counts = conn.execute("SELECT code, count(*), count(DISTINCT id) FROM typed GROUP BY 1")
        assert sorted(counts.fetchall()) == [("x", rows, rows), ("y", rows, rows)]


@pytest.mark.parametrize(
    ("data", "duplicate"),
    [("1,x,\n1,y,\n2,x,\n", None), ("1,x,\n1,y,\n2,x,\n1,x,again\n", "line 4")],
)
def test_duckdb_finds_a_duplicate_of_a_composite_key_only(
    world: World, capsys: pytest.CaptureFixture[str], data: str, duplicate: str | None
) -> None:
    world.s3.put(BUCKET, "pairs.csv", data.encode())
    code = world.run("pairs.csv", "pairs", targets=("duck",))
    err = capsys.readouterr().err
    assert code == (EXIT_OK if duplicate is None else EXIT_FAILED), err
    if duplicate is not None:
        assert f"{duplicate}: duplicate primary key (id, code)=(1, x), first seen on line 1" in err


class _Body:
    """An S3 body that gives ``pieces`` then, as a connection that stalls or breaks would,
    waits until it is closed (``stall``) or raises (once ``broken`` says so)."""

    def __init__(
        self, pieces: list[bytes], stall: bool, broken: Callable[[], bool] = lambda: True
    ) -> None:
        self.pieces, self.stall, self.broken = pieces, stall, broken
        self.closed = threading.Event()
        self.broke = False

    def read(self, n: int = -1) -> bytes:
        if self.pieces:
            return self.pieces.pop(0)
        if self.stall and self.closed.wait(timeout=120):
            raise OSError("the connection was closed")
        for _ in range(600):
            self.broke = self.broken()
            if self.broke:
                break
            time.sleep(0.1)
        raise ConnectionResetError("Connection reset by peer")

    def close(self) -> None:
        self.closed.set()


class _BreakingS3(FakeS3):
    def __init__(self, body: _Body) -> None:
        super().__init__()
        self.body = body

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        return {"Body": self.body, "ETag": '"e"'}


def _persons_lines(start: int, count: int) -> bytes:
    return "".join(
        f"{i},1.5,2,t,2024-01-0{1 + i % 9},,abc,\n" for i in range(start, start + count)
    ).encode()


def test_a_download_that_breaks_while_postgres_copies_changes_nothing(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.s3.put(BUCKET, "good.csv", SPELLED.encode())
    assert world.run("good.csv", "typed") == EXIT_OK
    before = world.rows("typed")
    capsys.readouterr()
    pieces = [f"{HEADER}\n".encode(), *(_persons_lines(100 + 20000 * i, 20000) for i in range(3))]

    def copying() -> bool:  # the connection breaks once PostgreSQL has begun to copy the rows
        with connect(world.pg) as conn:
            return bool(conn.execute("SELECT count(*) FROM pg_stat_progress_copy").fetchone()[0])

    body = _Body(pieces, stall=False, broken=copying)
    world.s3 = _BreakingS3(body)
    assert world.run("broken.csv", "typed") == EXIT_FAILED
    out, err = capsys.readouterr()
    assert FAST in out and body.broke  # PostgreSQL was copying the rows as they arrived
    assert err == (
        "load failed: copying s3://landing/broken.csv to a local file failed: "
        "Connection reset by peer; no target was changed\n"
    )
    assert world.rows("typed") == before
    with connect(world.pg) as conn:
        assert conn.execute("SELECT to_regclass('typed__s3batch_new')").fetchone() == (None,)


def test_a_target_that_fails_first_stops_the_download(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """The targets are opened while the object downloads; when one cannot be, the download
    is closed (here it would otherwise wait on S3 for two minutes)."""
    body = _Body([f"{HEADER}\n".encode(), _persons_lines(1, 10)], stall=True)
    world.s3 = _BreakingS3(body)
    world.pg = {**world.pg, "password": "wrong"}
    assert world.run("stalled.csv", "typed", targets=("pg",)) == EXIT_FAILED
    assert "password authentication failed" in capsys.readouterr().err
    assert body.closed.is_set()
