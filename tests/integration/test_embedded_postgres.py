"""The embedded PostgreSQL: first start, restarts keep data and credentials, idempotent start."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest

from s3batch.embedded import EmbeddedPostgres
from s3batch.loader.cli import EXIT_OK, main
from s3batch.loader.job import Clients
from s3batch.loader.testing import FakeS3, FakeSecrets, write_persons


def _helper() -> ModuleType:
    """tests/pg.py, loaded by path (``tests`` need not be on sys.path here)."""
    spec = importlib.util.spec_from_file_location("pg", Path(__file__).parents[1] / "pg.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pg = _helper()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    srv = EmbeddedPostgres(tmp_path / "data")
    yield srv
    srv.stop()


def _postmaster_pid(srv: EmbeddedPostgres) -> int:
    return int((srv.pgdata / "postmaster.pid").read_text().split()[0])


def test_start_gives_a_secret_that_logs_in_with_a_password(server: EmbeddedPostgres) -> None:
    secret = server.start()
    assert {k: v for k, v in secret.items() if k not in ("port", "password")} == {
        "engine": "postgres",
        "host": "127.0.0.1",
        "username": "s3batch",
        "dbname": "postgresdev",
    }
    assert isinstance(secret["port"], int) and len(str(secret["password"])) >= 24
    with pg.connect(secret) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in (
                "listen_addresses",
                "unix_socket_directories",
                "password_encryption",
                "wal_level",
                "max_wal_senders",
            )
        }
    sockets = settings.pop("unix_socket_directories")
    assert settings == {
        "listen_addresses": "127.0.0.1",
        "password_encryption": "scram-sha-256",
        "wal_level": "minimal",  # a table the loader creates and fills writes no WAL
        "max_wal_senders": "0",
    }
    # As root the server names its cluster /proc/self/cwd; the socket is in the cluster.
    assert sockets in (f'"{server.socket_dir}"', '"/proc/self/cwd/run"')
    assert (server.socket_dir / f".s.PGSQL.{secret['port']}").is_socket()
    over_socket = {**pg.conninfo(secret), "host": str(server.socket_dir)}
    with psycopg.connect(**over_socket) as conn:  # password login on the socket too
        assert conn.execute("SELECT current_user").fetchone() == ("s3batch",)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(**{**pg.conninfo(secret), "password": "wrong"})


def test_data_port_and_password_survive_a_restart(server: EmbeddedPostgres) -> None:
    secret = server.start()
    with pg.connect(secret) as conn:
        conn.execute("CREATE TABLE persons (id varchar(10) PRIMARY KEY, email varchar(50))")
        conn.execute("INSERT INTO persons VALUES ('1', 'a@example.com'), ('2', 'b@example.com')")
    server.stop()
    assert server.running_port() is None
    with pytest.raises(psycopg.OperationalError):
        pg.connect(secret)
    again = server.start()
    assert again == secret
    with pg.connect(again) as conn:
        rows = conn.execute("SELECT id, email FROM persons ORDER BY id").fetchall()
    assert rows == [("1", "a@example.com"), ("2", "b@example.com")]


def _crash(secret: dict[str, Any], srv: EmbeddedPostgres) -> None:
    """kill -9 a server process: PostgreSQL ends every process, drops its shared buffers and
    recovers from its files and the WAL, as after its own crash. (What a machine's crash
    would lose, the OS's unsynced cache, cannot be dropped here.)"""
    conn = psycopg.connect(**pg.conninfo(secret), autocommit=True)
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
    os.kill(pid, signal.SIGKILL)
    conn.close()
    deadline = time.monotonic() + 60
    while "database system is ready to accept connections" not in _after(srv, "redo"):
        assert time.monotonic() < deadline, srv.log_file.read_text()[-2000:]
        time.sleep(0.1)


def _after(srv: EmbeddedPostgres, marker: str) -> str:
    """The server's log after the first line holding ``marker`` (empty when none does)."""
    text = srv.log_file.read_text()
    return text[text.index(marker) :] if marker in text else ""


def test_a_table_replaced_by_the_loader_survives_a_crash(server: EmbeddedPostgres) -> None:
    # At wal_level=minimal the loader's new table is written without WAL: its pages must
    # all be written out (and fsynced) at commit, or a crash right after loses them.
    secret = server.start()
    rows = 60_000  # ~3.5 MB: more than wal_skip_threshold, so its files are synced, not logged
    body = io.BytesIO()
    write_persons(body, rows)
    s3 = FakeS3({("landing", "persons.csv"): body.getvalue()})
    argv = ["--bucket", "landing", "--key", "persons.csv", "--table", "persons", "--target", "t"]
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(argv, clients=Clients(s3, FakeSecrets({"t": secret})), environ={})
    assert code == EXIT_OK
    _crash(secret, server)
    assert "all server processes terminated; reinitializing" in server.log_file.read_text()
    with pg.connect(secret) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT id) FROM persons").fetchone() == (
            rows,
            rows,
        )
        conn.execute("SET enable_seqscan = off")  # the key, read through its index
        plan = conn.execute("EXPLAIN SELECT * FROM persons WHERE id = 'P00012345'").fetchall()
        assert "persons_pkey" in str(plan)
        assert conn.execute("SELECT count(*) FROM persons WHERE id = 'P00012345'").fetchone() == (
            1,
        )


def test_a_second_start_while_running_is_idempotent(server: EmbeddedPostgres) -> None:
    secret = server.start()
    pid = _postmaster_pid(server)
    assert EmbeddedPostgres(server.root.parent).start() == secret
    assert _postmaster_pid(server) == pid
    assert server.running_port() == secret["port"]


def test_a_taken_port_is_replaced_and_remembered(server: EmbeddedPostgres) -> None:
    secret = server.start()
    server.stop()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(secret["port"])))
        squatter.listen()
        moved = server.start()
    assert moved["port"] != secret["port"]
    assert moved["password"] == secret["password"]
    with pg.connect(moved) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    server.stop()
    assert server.start() == moved


def test_lost_credentials_get_a_new_password_and_keep_the_data(server: EmbeddedPostgres) -> None:
    secret = server.start()
    with pg.connect(secret) as conn:
        conn.execute("CREATE TABLE kept (x int)")
    (server.root / "credentials.json").unlink()
    fresh = server.start()  # running without known credentials: restarted with a new password
    assert fresh["password"] != secret["password"]
    with pg.connect(fresh) as conn:
        assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)


def test_credentials_file_is_private_and_the_password_is_not_logged(
    server: EmbeddedPostgres, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("DEBUG"):
        secret = server.start()
    path = server.root / "credentials.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.stat().st_uid == os.geteuid()
    assert json.loads(path.read_text())["password"] == secret["password"]
    assert str(secret["password"]) not in caplog.text + repr(server)
    assert str(secret["password"]) not in server.log_file.read_text()


def test_helper_start_postgres_and_create_database(tmp_path: Path) -> None:
    secret, stop = pg.start_postgres(tmp_path)
    try:
        other: dict[str, Any] = pg.create_database(secret)
        assert other["dbname"] != secret["dbname"]
        with pg.connect(other) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (other["dbname"],)
    finally:
        stop()
    with pytest.raises(psycopg.OperationalError):
        pg.connect(secret)
