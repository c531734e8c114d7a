"""The loader end to end through ``main([...])``, into a real PostgreSQL, a DuckDB file and a
SQLite file.

PostgreSQL is the embedded server ``s3batch up`` runs (:mod:`s3batch.embedded`), started
once for this module; each test gets its own database. S3 and Secrets Manager are in-memory stand-ins for the
two boto3 calls, except in the test that reads the object from a real ``s3batch up``.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from s3batch.embedded import EmbeddedPostgres
from s3batch.loader.cli import EXIT_FAILED, EXIT_OK, main
from s3batch.loader.download import human_size
from s3batch.loader.job import Clients
from s3batch.loader.ledger import LedgerEntry
from s3batch.loader.sinks.postgres import PostgresSink
from s3batch.loader.sinks.sqlite import SqliteSink
from s3batch.loader.testing import FakeS3, FakeSecrets

BUCKET = "s3-eventbridge-batch"
#: The secret of each target: PostgreSQL, DuckDB and SQLite.
PG, DUCK, LITE = "RDS-credentials", "Redshift-credentials", "Lite-credentials"
_PK_NAME = (
    "SELECT conname FROM pg_constraint WHERE conrelid = 'persons'::regclass AND contype = 'p'"
)


def persons(n: int, start: int = 1, postal: int = 10000) -> str:
    """``n`` rows of the tutorial's persons file."""
    return "".join(
        f"P{i:04d},person{i}@example.com,NY,{postal + i},{i} Main Street\n"
        for i in range(start, start + n)
    )


@dataclass(frozen=True)
class PgServer:
    """Where the server listens, and its superuser's login."""

    host: str
    port: int
    user: str
    password: str

    def conninfo(self, dbname: str) -> str:
        return f"host={self.host} port={self.port} user={self.user} password={self.password} dbname={dbname}"


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("loader-pg") / "data")
    secret = server.start()
    try:
        yield PgServer(
            str(secret["host"]),
            int(secret["port"]),
            str(secret["username"]),
            str(secret["password"]),
        )
    finally:
        server.stop()


@dataclass
class Setup:
    """One test's databases, fake AWS clients, and a way to run the loader."""

    pg: PgServer
    dbname: str
    duck_path: Path
    lite_path: Path
    s3: FakeS3
    secrets: FakeSecrets

    def put(self, key: str, data: str | bytes) -> None:
        self.s3.put(BUCKET, key, data.encode() if isinstance(data, str) else data)

    def load(self, key: str, *targets: str, extra: tuple[str, ...] = ()) -> int:
        argv = ["--bucket", BUCKET, "--key", key, "--table", "persons", *extra]
        for target in targets or (PG, DUCK, LITE):
            argv += ["--target", target]
        return main(argv, clients=Clients(self.s3, self.secrets), environ={})

    def pg_connect(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.pg.conninfo(self.dbname), autocommit=True)

    def pg_rows(self, table: str = "persons") -> list[tuple[object, ...]]:
        with self.pg_connect() as conn:
            return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()

    def duck_rows(self, table: str = "persons") -> list[tuple[object, ...]]:
        with duckdb.connect(str(self.duck_path)) as conn:
            return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()

    def lite_rows(self, table: str = "persons") -> list[tuple[object, ...]]:
        with closing(sqlite3.connect(self.lite_path)) as conn:
            return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()

    def rows(self) -> list[list[tuple[object, ...]]]:
        """The persons rows of every target."""
        return [self.pg_rows(), self.duck_rows(), self.lite_rows()]

    def execute(self, target: str, sql: str) -> None:
        """Run a statement in the DuckDB or SQLite target."""
        if target == DUCK:
            with duckdb.connect(str(self.duck_path)) as conn:
                conn.execute(sql)
            return
        with closing(sqlite3.connect(self.lite_path)) as conn, conn:
            conn.execute(sql)

    @contextmanager
    def counter(self, target: str) -> Iterator[Callable[[], int]]:
        """A reader of the PostgreSQL or SQLite target: counts the persons it can see."""
        if target == PG:
            with self.pg_connect() as conn:
                yield lambda: _count(conn.execute("SELECT count(*) FROM persons").fetchone())
            return
        with closing(sqlite3.connect(self.lite_path)) as lite:
            yield lambda: _count(lite.execute("SELECT count(*) FROM persons").fetchone())


@pytest.fixture
def setup(pg: PgServer, tmp_path: Path) -> Iterator[Setup]:
    dbname = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg.conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {dbname}")
    secrets = FakeSecrets(
        {
            "RDS-credentials": {
                "engine": "postgres",
                "host": pg.host,
                "port": pg.port,
                "username": pg.user,
                "password": pg.password,
                "dbname": dbname,
            },
            "Redshift-credentials": {
                "engine": "duckdb",
                "path": str(tmp_path / "warehouse.duckdb"),
            },
            "Lite-credentials": {"engine": "sqlite", "path": str(tmp_path / "lite.db")},
        }
    )
    yield Setup(pg, dbname, tmp_path / "warehouse.duckdb", tmp_path / "lite.db", FakeS3(), secrets)
    with psycopg.connect(pg.conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {dbname} WITH (FORCE)")


def test_loads_50_rows_into_postgres_duckdb_and_sqlite(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.put("sample-data.txt", persons(50))
    size = human_size(len(persons(50)))
    assert setup.load("sample-data.txt") == EXIT_OK
    expected = [
        (f"P{i:04d}", f"person{i}@example.com", "NY", 10000 + i, f"{i} Main Street")
        for i in range(1, 51)
    ]
    for rows in setup.rows():
        assert [(*r[:3], int(str(r[3])), r[4]) for r in rows] == expected
    out = capsys.readouterr().out
    for line in (
        f"Copying data from S3 s3://{BUCKET}/sample-data.txt into persons",
        f"The targets copy the rows of s3://{BUCKET}/sample-data.txt as it downloads, "
        "and every line is checked",
        f"Downloaded s3://{BUCKET}/sample-data.txt ({size}), 50 rows",
        "50 rows are valid",
        f"Connecting to postgres db {setup.dbname} on port {setup.pg.port}",
        "CREATE TABLE persons",
        "loading rows into persons (replace)",  # PostgreSQL, as the object arrives
        "loading 50 rows into persons (replace)",
        "COPY 50",
        f"persons now has 50 rows in postgres db {setup.dbname} on 127.0.0.1:{setup.pg.port}",
        f"persons now has 50 rows in duckdb {setup.duck_path}",
        f"Opening sqlite file {setup.lite_path}",
        "INSERT 50",
        f"persons now has 50 rows in sqlite {setup.lite_path}",
    ):
        assert line in out.splitlines(), line
    assert out.splitlines()[-1].startswith(f"Loaded 50 rows ({size}) from s3://")


def test_created_tables_follow_the_definition(setup: Setup) -> None:
    setup.put("k", persons(3))
    assert setup.load("k") == EXIT_OK
    with setup.pg_connect() as conn:
        columns = conn.execute(
            "SELECT column_name, data_type, character_maximum_length, numeric_precision, is_nullable "
            "FROM information_schema.columns WHERE table_name = 'persons' ORDER BY ordinal_position"
        ).fetchall()
        pk = conn.execute(_PK_NAME).fetchall()
        leftovers = conn.execute(
            "SELECT relname FROM pg_class WHERE relname LIKE '%s3batch%' "
            "AND relname <> 's3batch_load_history'"
        ).fetchall()
    assert columns == [
        ("id", "character varying", 10, None, "NO"),
        ("email", "character varying", 50, None, "NO"),
        ("state", "character varying", 3, None, "NO"),
        ("postal", "numeric", None, 10, "NO"),
        ("address", "character varying", 250, None, "NO"),
    ]
    assert pk == [("persons_pkey",)] and leftovers == []
    with duckdb.connect(str(setup.duck_path)) as conn:
        tables = conn.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()
    assert tables == [("persons",), ("s3batch_load_history",)]


def test_reload_replaces_the_rows(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    setup.put("k", persons(50))
    assert setup.load("k") == EXIT_OK
    setup.put("k", persons(20, start=101, postal=50000))
    assert setup.load("k") == EXIT_OK
    for rows in setup.rows():
        assert len(rows) == 20 and rows[0][0] == "P0101" and int(str(rows[-1][3])) == 50120
    out = capsys.readouterr().out
    assert (
        "table persons exists in schema public" in out
        and "swapped the new rows into persons" in out
    )
    with setup.pg_connect() as conn:
        assert conn.execute(_PK_NAME).fetchall() == [("persons_pkey",)]


def test_bad_row_leaves_every_target_unchanged(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.put("k", persons(50))
    assert setup.load("k") == EXIT_OK
    before = setup.rows()
    lines = persons(10, start=201).splitlines(keepends=True)
    lines[6] = "P0207,person207@example.com,NY,12a45,207 Main Street\n"
    setup.put("k", "".join(lines))
    capsys.readouterr()
    assert setup.load("k") == EXIT_FAILED
    assert setup.rows() == before
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert 'load failed: line 7, column "postal": "12a45" is not a valid numeric(10)' in err


@pytest.mark.parametrize(("second", "label"), [(DUCK, "duckdb"), (LITE, "sqlite")])
def test_failure_in_the_second_target_rolls_back_the_first(
    setup: Setup, capsys: pytest.CaptureFixture[str], second: str, label: str
) -> None:
    setup.put("k", persons(50))
    assert setup.load("k", PG, second) == EXIT_OK
    before = setup.pg_rows()
    setup.execute(second, "DROP TABLE persons")
    setup.execute(second, "CREATE TABLE persons (id VARCHAR PRIMARY KEY, email VARCHAR)")
    setup.put("k", persons(5, start=300))
    assert setup.load("k", PG, second) == EXIT_FAILED
    assert setup.pg_rows() == before
    err = capsys.readouterr().err
    assert (
        f"table persons in {label}" in err
        and "does not match its definition: it has 2 columns, expected 5" in err
    )


def test_duplicate_primary_key_fails_everywhere(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.put("k", persons(50))
    assert setup.load("k") == EXIT_OK
    setup.put("k", persons(3) + persons(1, start=2))
    assert setup.load("k") == EXIT_FAILED
    assert [len(rows) for rows in setup.rows()] == [50, 50, 50]
    out, err = capsys.readouterr()
    assert "duplicate primary key in the file: Key (id)=(P0002)" in out  # the database's words
    assert err == (
        "load failed: line 4: duplicate primary key (id)=(P0002), first seen on line 2; "
        "no target was changed\n"
    )


@pytest.mark.parametrize(("target", "sink"), [(PG, PostgresSink), (LITE, SqliteSink)])
def test_readers_never_see_an_empty_or_partial_table(
    setup: Setup,
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    sink: type[PostgresSink | SqliteSink],
) -> None:
    setup.put("k", persons(50))
    assert setup.load("k", target) == EXIT_OK
    seen_before_swap: list[int] = []
    original_swap = sink.swap

    def swap(self: PostgresSink | SqliteSink, entry: LedgerEntry) -> int:
        with setup.counter(target) as count:  # the new rows are staged but not yet swapped in
            seen_before_swap.append(count())
        return original_swap(self, entry)  # type: ignore[arg-type]

    monkeypatch.setattr(sink, "swap", swap)
    counts: list[int] = []
    stop = threading.Event()

    def poll() -> None:
        with setup.counter(target) as count:
            while not stop.is_set():
                counts.append(count())

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        setup.put("k", persons(20000, start=1000))
        assert setup.load("k", target) == EXIT_OK
    finally:
        stop.set()
        poller.join()
    assert seen_before_swap == [50]
    assert counts and set(counts) <= {50, 20000}
    with setup.counter(target) as count:
        assert count() == 20000


def test_concurrent_loads_of_one_table_run_one_after_the_other(setup: Setup) -> None:
    setup.put("a", persons(3000, start=1))
    setup.put("b", persons(2000, start=5000))
    codes: list[int] = []
    threads = [
        threading.Thread(target=lambda k=k: codes.append(setup.load(k, "RDS-credentials")))
        for k in "ab"
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [EXIT_OK, EXIT_OK]
    ids = [r[0] for r in setup.pg_rows()]
    assert ids in ([f"P{i:04d}" for i in range(1, 3001)], [f"P{i:04d}" for i in range(5000, 7000)])


def _count(row: tuple[object, ...] | None) -> int:
    return int(str(row[0])) if row else -1


def test_mismatched_existing_table_is_a_clear_error(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    with setup.pg_connect() as conn:
        conn.execute(
            "CREATE TABLE persons (id varchar(10) PRIMARY KEY, email varchar(50) NOT NULL, "
            "state varchar(3), postal integer NOT NULL, address varchar(250) NOT NULL)"
        )
        conn.execute("INSERT INTO persons VALUES ('X', 'x@x', 'NY', 1, 'here')")
    setup.put("k", persons(5))
    assert setup.load("k") == EXIT_FAILED
    err = capsys.readouterr().err
    assert f"table persons in postgres db {setup.dbname}" in err
    assert 'column "state" is nullable, expected NOT NULL' in err
    assert 'column "postal" is integer, expected numeric(10,0)' in err
    assert setup.pg_rows() == [("X", "x@x", "NY", 1, "here")]


def test_bom_and_crlf(setup: Setup) -> None:
    setup.put("k", ("\ufeff" + persons(3).replace("\n", "\r\n")).encode())
    assert setup.load("k") == EXIT_OK
    for rows in setup.rows():
        assert rows[0][0] == "P0001" and rows[2][4] == "3 Main Street"


def test_dependent_view_and_grants_survive_a_reload(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.put("k", persons(10))
    assert setup.load("k", "RDS-credentials") == EXIT_OK
    with setup.pg_connect() as conn:
        conn.execute("CREATE VIEW ny AS SELECT id FROM persons WHERE state = 'NY'")
        conn.execute("CREATE ROLE reader")
        conn.execute("GRANT SELECT ON persons TO reader")
        conn.execute("COMMENT ON TABLE persons IS 'from S3'")
    setup.put("k", persons(4, start=500))
    assert setup.load("k", "RDS-credentials") == EXIT_OK
    assert "TRUNCATE TABLE and INSERT into persons" in capsys.readouterr().out
    with setup.pg_connect() as conn:
        assert [r[0] for r in conn.execute("SELECT id FROM ny ORDER BY 1")] == [
            "P0500",
            "P0501",
            "P0502",
            "P0503",
        ]
        assert conn.execute(
            "SELECT has_table_privilege('reader', 'persons', 'SELECT')"
        ).fetchone() == (True,)
        assert conn.execute("SELECT obj_description('persons'::regclass)").fetchone() == (
            "from S3",
        )
        conn.execute("DROP VIEW ny")
        conn.execute("REVOKE ALL ON persons FROM reader")
        conn.execute("DROP ROLE reader")


def test_every_type_round_trips_and_reloads(setup: Setup, tmp_path: Path) -> None:
    stack = tmp_path / "stack.yaml"
    stack.write_text(
        "tables:\n"
        "  - tableName: persons\n"
        "    columns:\n"
        "      - {name: id, type: integer, primaryKey: true}\n"
        "      - {name: big, type: bigint}\n"
        "      - {name: small, type: smallint}\n"
        "      - {name: price, type: 'numeric(8,2)'}\n"
        "      - {name: amount, type: decimal}\n"
        "      - {name: ratio, type: real}\n"
        "      - {name: score, type: double precision}\n"
        "      - {name: ok, type: boolean}\n"
        "      - {name: day, type: date}\n"
        "      - {name: at, type: timestamp}\n"
        "      - {name: note, type: text}\n"
        "    format: {header: true, delimiter: ';'}\n"
    )
    header = "id;big;small;price;amount;ratio;score;ok;day;at;note\n"
    data = (
        header
        + '1;9000000000;-5;12.5;42;0.5;-1.25e3;yes;2024-02-29;2024-02-29T13:45:10;" spaced ""q"" "\n2;;;;;;;;;;\n'
    )
    setup.put("typed.csv", data)
    for _ in range(2):  # the second load checks the existing tables against the definition
        assert setup.load("typed.csv", extra=("--stack", str(stack))) == EXIT_OK
    pg, duck, lite = setup.rows()
    assert pg == duck
    assert [str(v) for v in pg[0]] == [
        "1", "9000000000", "-5", "12.50", "42", "0.5", "-1250.0", "True", "2024-02-29",
        "2024-02-29 13:45:10", ' spaced "q" ',
    ]  # fmt: skip
    assert pg[1] == (2, *[None] * 10)
    assert lite == [
        (1, 9000000000, -5, 12.5, 42, 0.5, -1250.0, 1, "2024-02-29", "2024-02-29 13:45:10",
         ' spaced "q" '),
        (2, *[None] * 10),
    ]  # fmt: skip


def test_secrets_never_reach_the_output(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    setup.put("k", persons(5))
    assert setup.load("k") == EXIT_OK
    wrong = "Wr0ng-Pa55word-31337"
    secret = {
        "engine": "postgres", "host": setup.pg.host, "port": str(setup.pg.port),
        "username": setup.pg.user, "password": wrong, "dbname": setup.dbname,
    }  # fmt: skip
    setup.secrets.put("bad-login", secret)
    assert setup.load("k", "Redshift-credentials", "bad-login") == EXIT_FAILED
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "password authentication failed" in captured.err
    for hidden in (setup.pg.password, wrong, setup.pg.user):
        assert hidden not in output
    assert len(setup.duck_rows()) == 5


def test_stubbed_boto3_clients(setup: Setup) -> None:
    import boto3
    from botocore.response import StreamingBody

    session = boto3.Session(
        aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    )
    s3, secrets = session.client("s3"), session.client("secretsmanager")
    data = persons(7).encode()
    with Stubber(s3) as s3_stub, Stubber(secrets) as secrets_stub:
        secrets_stub.add_response(
            "get_secret_value",
            {"SecretString": setup.secrets.secrets["Redshift-credentials"]},
            {"SecretId": "Redshift-credentials"},
        )
        import io

        s3_stub.add_response(
            "get_object",
            {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentLength": len(data)},
            {"Bucket": BUCKET, "Key": "in/persons.csv"},
        )
        # A load without rejects looks for those of an earlier version (none: 404).
        s3_stub.add_client_error(
            "head_object",
            service_error_code="404",
            http_status_code=404,
            expected_params={"Bucket": BUCKET, "Key": "in/persons.csv.rejects.csv"},
        )
        argv = [
            "--bucket",
            BUCKET,
            "--key",
            "in/persons.csv",
            "--table",
            "persons",
            "--target",
            "Redshift-credentials",
        ]
        assert main(argv, clients=Clients(s3, secrets), environ={}) == EXIT_OK
        s3_stub.assert_no_pending_responses()
    assert len(setup.duck_rows()) == 7


def test_reads_the_object_from_a_real_s3batch_server(setup: Setup, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="dir/sample data.txt", Body=persons(50).encode())
    argv = ["--bucket", bucket, "--key", "dir/sample data.txt", "--table", "persons"]
    argv += ["--target", "RDS-credentials", "--target", "Redshift-credentials"]
    assert main(argv, clients=Clients(s3, setup.secrets), environ={}) == EXIT_OK
    assert len(setup.pg_rows()) == 50 and len(setup.duck_rows()) == 50


def test_real_server_gzip_rejects_and_ledger(setup: Setup, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    import gzip

    data = gzip.compress((persons(3) + "P9,bad\n").encode())
    s3.put_object(Bucket=bucket, Key="in/day.csv", Body=data, ContentEncoding="gzip")
    argv = ["--bucket", bucket, "--key", "in/day.csv", "--table", "persons", "--mode", "append"]
    argv += ["--max-errors", "1", "--target", "RDS-credentials"]
    clients = Clients(s3, setup.secrets)
    assert main(argv, clients=clients, environ={"AWS_BATCH_JOB_ID": "j-1"}) == EXIT_OK
    assert main(argv, clients=clients, environ={"AWS_BATCH_JOB_ID": "j-2"}) == EXIT_OK
    assert len(setup.pg_rows()) == 3
    etag = s3.head_object(Bucket=bucket, Key="in/day.csv")["ETag"].strip('"')
    with setup.pg_connect() as conn:
        ledger = conn.execute(
            "SELECT version, job_id, rows_loaded, rows_rejected FROM s3batch_load_history"
        ).fetchall()
    assert ledger == [(etag, "j-1", 3, 1)]
    rejects = s3.get_object(Bucket=bucket, Key="in/day.csv.rejects.csv")["Body"].read().decode()
    assert rejects.splitlines()[1] == '4,,"expected 5 fields, found 2 (no ""state"")","P9,bad"'


def test_real_server_a_load_without_rejects_removes_those_of_an_earlier_version(  # type: ignore[no-untyped-def]
    setup: Setup, s3, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="in/fix.csv", Body=(persons(2) + "P9,bad\n").encode())
    argv = ["--bucket", bucket, "--key", "in/fix.csv", "--table", "persons"]
    argv += ["--max-errors", "1", "--target", "RDS-credentials"]
    clients = Clients(s3, setup.secrets)
    assert main(argv, clients=clients, environ={}) == EXIT_OK
    etag = s3.head_object(Bucket=bucket, Key="in/fix.csv")["ETag"].strip('"')
    head = s3.head_object(Bucket=bucket, Key="in/fix.csv.rejects.csv")
    assert head["Metadata"] == {"s3batch-rejects-of": etag}
    s3.put_object(Bucket=bucket, Key="in/fix.csv", Body=persons(3).encode())  # fixed
    assert main(argv, clients=clients, environ={}) == EXIT_OK
    assert len(setup.pg_rows()) == 3
    with pytest.raises(ClientError) as gone:
        s3.head_object(Bucket=bucket, Key="in/fix.csv.rejects.csv")
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_python_dash_m_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "s3batch.loader", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "--target SECRET_ID" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "s3batch.loader", "load"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "required" in done.stderr


def test_sqlite_table_made_by_hand_keeps_its_view_and_index(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.execute(
        LITE,
        "CREATE TABLE persons (id VARCHAR(10) NOT NULL PRIMARY KEY, "
        "email character varying(50) NOT NULL, state varchar(3) NOT NULL, "
        "postal NUMERIC(10) NOT NULL, address varchar(250) NOT NULL)",
    )
    setup.execute(LITE, "CREATE VIEW ny AS SELECT id FROM persons WHERE state = 'NY'")
    setup.execute(LITE, "CREATE INDEX persons_email ON persons (email)")
    for start in (1, 500):
        setup.put("k", persons(3, start=start))
        assert setup.load("k", LITE) == EXIT_OK
    assert "table persons exists" in capsys.readouterr().out
    with closing(sqlite3.connect(setup.lite_path)) as conn:
        assert conn.execute("SELECT id FROM ny ORDER BY 1").fetchall() == [
            ("P0500",),
            ("P0501",),
            ("P0502",),
        ]
        assert conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'persons' "
            "AND sql IS NOT NULL"
        ).fetchall() == [("persons_email",)]


def test_sqlite_table_that_disagrees_is_a_clear_error(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.execute(
        LITE,
        "CREATE TABLE persons (id varchar(10) PRIMARY KEY NOT NULL, email varchar(50) NOT NULL, "
        "state varchar(3), postal integer NOT NULL, address varchar(250) NOT NULL)",
    )
    setup.execute(LITE, "INSERT INTO persons VALUES ('X', 'x@x', 'NY', 1, 'here')")
    setup.put("k", persons(5))
    assert setup.load("k", LITE) == EXIT_FAILED
    err = capsys.readouterr().err
    assert f"table persons in sqlite {setup.lite_path} does not match its definition" in err
    assert 'column "state" is nullable, expected NOT NULL' in err
    assert 'column "postal" is integer, expected numeric(10)' in err
    assert setup.lite_rows() == [("X", "x@x", "NY", 1, "here")]
