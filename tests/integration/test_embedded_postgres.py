"""The embedded PostgreSQL: first start, restarts keep data and credentials, idempotent start."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest

from s3batch.embedded import EmbeddedPostgres


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
            for name in ("listen_addresses", "unix_socket_directories", "password_encryption")
        }
    sockets = settings.pop("unix_socket_directories")
    assert settings == {"listen_addresses": "127.0.0.1", "password_encryption": "scram-sha-256"}
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
