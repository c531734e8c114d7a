"""The job and its command line, with in-memory S3, secrets and sinks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from s3batch.loader.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, job_options, main
from s3batch.loader.connections import Target, parse_target, scrub
from s3batch.loader.download import human_size
from s3batch.loader.errors import LoadConfigError, TargetError
from s3batch.loader.job import Clients
from s3batch.loader.ledger import LedgerEntry
from s3batch.loader.sinks import Echo, Sink
from s3batch.loader.sinks.memory import MemoryDatabase, MemorySink
from s3batch.loader.tables import TableDef
from s3batch.loader.testing import FakeS3, FakeSecrets

ROWS = "".join(f"P{i},p{i}@example.com,NY,{10000 + i},{i} Main St\n" for i in range(1, 51))


class World:
    """Fake S3 and Secrets Manager, and one in-memory database per secret."""

    def __init__(self) -> None:
        self.s3 = FakeS3({("b", "data.csv"): ROWS.encode()})
        self.secrets = FakeSecrets(
            {
                "A": {"engine": "duckdb", "path": "a.duckdb"},
                "B": {"engine": "duckdb", "path": "b.duckdb"},
            }
        )
        self.dbs = {"A": MemoryDatabase(), "B": MemoryDatabase()}
        self.fail: dict[str, str] = {}  # secret id -> step that raises

    def sink(self, target: Target, table: TableDef, echo: Echo) -> Sink:
        world = self

        class Failing(MemorySink):
            def swap(self, entry: LedgerEntry) -> int:
                if world.fail.get(target.secret_id) == "swap":
                    raise TargetError(f"{target.label}: swap failed")
                return super().swap(entry)

            def commit(self) -> None:
                if world.fail.get(target.secret_id) == "commit":
                    raise TargetError(f"{target.label}: commit failed")
                super().commit()

        return Failing(self.dbs[target.secret_id], table, echo, label=target.label)

    def run(self, *argv: str, key: str = "data.csv", environ: dict[str, str] | None = None) -> int:
        args = [
            "--bucket",
            "b",
            "--key",
            key,
            "--table",
            "persons",
            "--target",
            "A",
            "--target",
            "B",
            *argv,
        ]
        return main(
            args, clients=Clients(self.s3, self.secrets), environ=environ or {}, make_sink=self.sink
        )


@pytest.fixture
def world() -> World:
    return World()


def test_loads_every_target(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert world.run() == EXIT_OK
    for db in world.dbs.values():
        assert len(db.tables["persons"]) == 50
        assert db.tables["persons"][0] == ("P1", "p1@example.com", "NY", "10001", "1 Main St")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Copying data from S3 s3://b/data.csv into persons"
    assert out[1:3] == [
        "The targets copy the rows of s3://b/data.csv as it downloads, and every line is checked",
        "Downloaded s3://b/data.csv (1.9 KiB), 50 rows",
    ]
    assert "50 rows are valid" in out
    assert "COMMIT duckdb a.duckdb" in out and "COMMIT duckdb b.duckdb" in out
    assert out[-1].startswith(
        "Loaded 50 rows (1.9 KiB) from s3://b/data.csv into persons on 2 target(s)"
    )


def test_bad_row_touches_no_target(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.s3.put("b", "bad.csv", ROWS.replace("10007", "12a45").encode())
    assert world.run(key="bad.csv") == EXIT_FAILED
    assert world.dbs["A"].tables == {} and world.dbs["B"].tables == {}
    err = capsys.readouterr().err
    assert err == (
        'load failed: line 7, column "postal": "12a45" is not a valid numeric(10); no target was changed\n'
    )


@pytest.mark.parametrize("step", ["swap", "commit"])
def test_a_failing_target_rolls_back_the_others(world: World, step: str) -> None:
    assert world.run() == EXIT_OK
    world.s3.put("b", "data.csv", ROWS[: ROWS.index("P3,")].encode())
    world.fail["A"] = step
    assert world.run() == EXIT_FAILED
    assert len(world.dbs["A"].tables["persons"]) == 50
    assert len(world.dbs["B"].tables["persons"]) == 50


def test_a_later_commit_failure_is_reported_as_partial(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.fail["B"] = "commit"
    assert world.run() == EXIT_FAILED
    err = capsys.readouterr().err
    assert "commit failed (already committed: duckdb a.duckdb)" in err
    assert "no target was changed" not in err


def test_missing_object_and_secret(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert world.run(key="nope.csv") == EXIT_FAILED
    assert "cannot read s3://b/nope.csv" in capsys.readouterr().err
    del world.secrets.secrets["B"]
    assert world.run() == EXIT_FAILED
    assert "cannot read secret B" in capsys.readouterr().err
    assert world.dbs["A"].tables == {}


def test_usage_errors(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--bucket", "b"]) == EXIT_USAGE
    assert "required" in capsys.readouterr().err
    assert main(["load", "--help"]) == EXIT_OK
    assert "--target SECRET_ID" in capsys.readouterr().out
    assert world.run("--table", "nope") == EXIT_USAGE
    assert (
        "table 'nope' is not defined in the built-in tables (defined: persons)"
        in capsys.readouterr().err
    )


def test_table_from_stack_file(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = tmp_path / "stack.yaml"
    stack.write_text(
        "tables:\n  - tableName: persons\n    columns: [{name: id, type: text}, {name: n, type: int}]\n"
    )
    world.s3.put("b", "two.csv", b"x,1\ny,2\n")
    assert world.run(key="two.csv", environ={"S3BATCH_STACK_FILE": str(stack)}) == EXIT_OK
    assert world.dbs["A"].tables["persons"] == [("x", "1"), ("y", "2")]
    stack.write_text("tables:\n  - tableName: cities\n    columns: [{name: id, type: txt}]\n")
    assert world.run("--stack", str(stack), key="two.csv") == EXIT_USAGE
    assert "tables[0].columns[0].type: unsupported type 'txt'" in capsys.readouterr().err
    assert world.run("--stack", str(tmp_path / "missing.yaml")) == EXIT_USAGE
    assert "cannot read stack file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (
            {"engine": "oracle"},
            "engine must be 'postgres', 'duckdb', 'sqlite' or 'redshift', not 'oracle'",
        ),
        (
            {"engine": "postgres", "host": "h", "dbname": "d", "username": "u"},
            "'password' is required",
        ),
        ({"engine": "postgres", "host": "h", "port": "x", "dbname": "d"}, "port must be a number"),
        ({"engine": "duckdb"}, "'path' is required"),
        ({"engine": "sqlite", "path": ""}, "'path' is required"),
    ],
)
def test_bad_secrets(secret: dict[str, object], message: str) -> None:
    with pytest.raises(LoadConfigError, match=message):
        parse_target("S", secret)


def test_secret_string_must_be_json(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.secrets.put("B", "user=admin password=hunter2")
    assert world.run() == EXIT_USAGE
    err = capsys.readouterr().err
    assert "secret B: SecretString is not a JSON object" in err and "hunter2" not in err


def test_postgres_target_hides_login() -> None:
    target = parse_target(
        "RDS",
        {
            "engine": "postgres",
            "host": "db",
            "port": "5432",
            "dbname": "dev",
            "username": "bob",
            "password": "pw!",
        },
    )
    assert "bob" not in repr(target) and "pw!" not in repr(target)
    assert target.label == "postgres db dev on db:5432"
    assert (
        scrub('user "bob" password pw! failed', target.hidden()) == 'user "***" password *** failed'
    )


@pytest.mark.parametrize(
    ("user", "text", "scrubbed"),
    [
        ("s3batch", 'COPY persons__s3batch_new, line 3: role "s3batch" is not the owner',
         'COPY persons__s3batch_new, line 3: role "***" is not the owner'),
        ("postgres", 'no pg_hba.conf entry for host "h", user "postgres", database "postgresdev"',
         'no pg_hba.conf entry for host "h", user "***", database "postgresdev"'),
        ("a", "connection to server at a.example failed: user=a dbname=data",
         "connection to server at a.example failed: user=*** dbname=data"),
        ("bob", "User bob and user 'bob' but not user bobby or superuser bob",
         "User *** and user '***' but not user bobby or superuser bob"),
    ],
)  # fmt: skip
def test_scrub_masks_the_user_name_only_as_the_login(user: str, text: str, scrubbed: str) -> None:
    secret = {"engine": "postgres", "host": "h", "dbname": "d", "username": user, "password": "pw"}
    assert scrub(text + " pw", parse_target("S", secret).hidden()) == scrubbed + " ***"


def test_human_size() -> None:
    assert [human_size(n) for n in (0, 1023, 3379, 5 * 2**20, 3 * 2**40)] == [
        "0 Bytes",
        "1023 Bytes",
        "3.3 KiB",
        "5.0 MiB",
        "3.0 TiB",
    ]


@pytest.mark.parametrize(
    ("module", "secret", "extra"),
    [
        (
            "psycopg",
            {"engine": "postgres", "host": "h", "dbname": "d", "username": "u", "password": "p"},
            "postgres",
        ),
        ("duckdb", {"engine": "duckdb", "path": "x.duckdb"}, "duckdb"),
    ],
)
def test_missing_driver_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, module: str, secret: dict[str, object], extra: str
) -> None:
    from s3batch.loader.sinks import open_sink
    from s3batch.loader.tables import parse_table

    monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.delitem(sys.modules, f"s3batch.loader.sinks.{extra}", raising=False)
    table = parse_table({"tableName": "t", "columns": [{"name": "a", "type": "int"}]}, "t")
    with pytest.raises(LoadConfigError, match=rf"pip install 's3batch\[{extra}\]'"):
        open_sink(parse_target("S", secret), table, print)


@pytest.mark.parametrize(
    "command",
    [
        ["s3batch", "load", "--bucket", "b", "--key", "k", "--table", "Persons", "--target", "A"],
        ["/venv/bin/python", "-m", "s3batch", "load", "--bucket", "b", "--key", "k",
         "--table", "Persons", "--target", "A"],
        ["python", "-m", "s3batch.loader", "--bucket", "b", "--key", "k", "--table", "Persons",
         "--target", "A"],
    ],
)  # fmt: skip
def test_job_options_of_a_loader_command(command: list[str]) -> None:
    options = job_options(command)
    assert options is not None
    assert (options.bucket, options.key, options.table, options.target) == (
        "b",
        "k",
        "Persons",
        ["A"],
    )


@pytest.mark.parametrize(
    "command",
    [["bash", "-c", "s3batch load"], ["s3batch", "load", "--bucket", "b"], ["s3batch", "up"]],
)
def test_job_options_of_other_commands(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert job_options(command) is None
    assert capsys.readouterr().err == ""  # the usage error is not printed


def test_invalid_utf8_names_the_line_and_byte(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ROWS.encode().splitlines(keepends=True)[:46]
    lines[40] = lines[40].replace(b"Main", b"M\xffin")  # after the 33 bytes "P41,...,41 M"
    world.s3.put("b", "latin1.csv", b"".join(lines))
    assert world.run(key="latin1.csv") == EXIT_FAILED
    assert capsys.readouterr().err == (
        "load failed: line 41: not valid UTF-8 (byte 0xff at byte 34 of the line); "
        "no target was changed\n"
    )


def test_an_unterminated_quote_names_the_line_it_opens_on(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ROWS.replace("P3,p3@example.com", 'P3,"p3@example.com', 1).encode()
    world.s3.put("b", "quote.csv", data)
    assert world.run(key="quote.csv") == EXIT_FAILED
    assert capsys.readouterr().err == (
        "load failed: line 3: malformed CSV: a quote opened in this row is never closed; "
        "no target was changed\n"
    )
    world.s3.put("b", "closed.csv", data.replace(b"P9,", b'P9"x,', 1))
    assert world.run(key="closed.csv") == EXIT_FAILED
    assert capsys.readouterr().err == (
        "load failed: line 3: malformed CSV: ',' expected after '\"' (on line 9); "
        "no target was changed\n"
    )
