"""The embedded PostgreSQL of ``s3batch up``: one cluster kept under ``<data-dir>/postgres``.

It listens on 127.0.0.1 only, on a port remembered across restarts (another free one when
it is taken), with its unix socket inside the data dir, and password (SCRAM) login for
user ``s3batch`` to database ``postgresdev``, the tutorial's. The first start creates
the cluster; later starts reuse it, and its data, port and password. A start while the
server runs (its ``postmaster.pid`` names a live process) just reports it.

Layout of ``<data-dir>/postgres``::

    credentials.json   port and password (mode 0600, never readable by the server's user)
    data/              the cluster (PGDATA), owned by the server's user, with
      log/postgres.log the server's log
      run/             the unix socket

As root, the server runs as an unprivileged system user (see :mod:`.unixuser`), which
usually cannot traverse the directories above its cluster (``/root``, pytest's private
temp dir, a data dir kept at mode 0700). So its programs start inside the cluster
(``cwd``, entered while still root) and are given ``/proc/self/cwd`` as the data
directory: every path they open then starts from there, and no directory above the
cluster needs opening to them, now or when someone changes their mode while the server runs.

The server writes the least WAL crash recovery needs (``wal_level=minimal``, no WAL
senders): no standby, archive or logical decoding takes WAL from a one-machine database.
A table created and filled in one transaction, as the loader's ``replace`` builds its new
table, then writes no WAL at all: its files are fsynced at commit instead, so a committed
load survives a crash just the same (tested with kill -9). A user who wants replication or
point-in-time recovery points the loader at their own PostgreSQL.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from s3batch.embedded import pgbin, postmaster, unixuser
from s3batch.embedded.pgbin import PgBinaries
from s3batch.embedded.unixuser import RunAs
from s3batch.errors import ConfigError

logger = logging.getLogger(__name__)

#: The login role, a superuser made by initdb.
USERNAME = "s3batch"
#: The database created at first start (the tutorial's name).
DBNAME = "postgresdev"
#: The only address the server listens on.
HOST = "127.0.0.1"
#: Seconds to wait for the server to start.
START_TIMEOUT = 60
#: Longest unix socket path the kernel accepts (sun_path less its terminating NUL).
MAX_SOCKET_PATH = 107
#: The server's log, relative to the cluster directory.
LOG_FILE = "log/postgres.log"
#: What a process started inside the cluster reaches it by, whatever lies above it.
_OWN_CWD = "/proc/self/cwd"


class EmbeddedPostgresError(ConfigError):
    """The embedded PostgreSQL server could not be started or stopped."""

    code = "EmbeddedPostgresError"


@dataclass(frozen=True)
class _Credentials:
    """What is remembered across restarts."""

    port: int
    password: str

    def __repr__(self) -> str:
        return f"_Credentials(port={self.port}, password='***')"


class EmbeddedPostgres:
    """A PostgreSQL server whose cluster lives in ``<data_dir>/postgres``."""

    def __init__(
        self, data_dir: Path, bin_dir: Path | None = None, run_as: RunAs | None = None
    ) -> None:
        self.root = Path(data_dir).absolute() / "postgres"
        self.pgdata = self.root / "data"
        self.socket_dir = self.pgdata / "run"
        self.log_file = self.pgdata / LOG_FILE
        self.bin_dir = bin_dir
        self._run_as = run_as

    def __repr__(self) -> str:
        return f"EmbeddedPostgres({str(self.root)!r})"

    @property
    def run_as(self) -> RunAs:
        """The user the server runs as (created on first use when s3batch runs as root)."""
        if self._run_as is None:
            self._run_as = unixuser.current()
        return self._run_as

    # -- public API ------------------------------------------------------------------------

    def start(self) -> dict[str, str | int]:
        """Start the server unless it runs; return its Secrets Manager secret (a dict).

        Raises:
            EmbeddedPostgresError: initdb or the server failed (the log's tail is included).
            ConfigError: no usable PostgreSQL binaries, or no unprivileged user as root.
        """
        self.root.parent.mkdir(parents=True, exist_ok=True)
        self.root.mkdir(mode=0o700, exist_ok=True)
        with self._locked():
            bins = pgbin.find(self.pgdata, self.bin_dir)
            self._prepare(bins)
            credentials = self._read_credentials()
            port = self._running_port()
            if port is not None and credentials is not None:
                logger.info(
                    "PostgreSQL already runs on port %d", port, extra={"action": "pg_start"}
                )
                return self._secret(self._save(replace(credentials, port=port)))
            if port is not None:  # it runs, but its password is lost: restart to reset it
                self._stop_running()
            return self._secret(self._start(bins, credentials))

    def stop(self) -> None:
        """Stop the server (fast shutdown: sessions are ended, data is flushed); no-op if down."""
        if not self.root.exists():
            return
        with self._locked():
            self._stop_running()

    def running_port(self) -> int | None:
        """The port of the running server, or None when it is down."""
        return self._running_port() if self.pgdata.exists() else None

    # -- starting --------------------------------------------------------------------------

    def _start(self, bins: PgBinaries, known: _Credentials | None) -> _Credentials:
        credentials = known or _Credentials(postmaster.free_port(HOST), secrets.token_urlsafe(24))
        self._save(credentials)
        if not (self.pgdata / "PG_VERSION").exists():
            self._create_cluster(bins, credentials)
        elif known is None:
            logger.warning(
                "credentials of the embedded PostgreSQL were lost; setting a new password",
                extra={"action": "pg_reset_password"},
            )
            self._single_user(bins, self.pgdata, [_alter_password(credentials)], credentials)
        return self._launch(bins, credentials)

    def _prepare(self, bins: PgBinaries) -> None:
        """Give the server's user its cluster and a way to its programs."""
        if self.pgdata.exists():
            self._own_dirs(self.pgdata)
            self.run_as.give(self.pgdata, tree=True)
        self.run_as.allow_traversal(bins.bin_dir)
        if self.run_as.switches and not Path(_OWN_CWD).exists():  # no /proc: open the way
            self.run_as.allow_traversal(self.root)

    def _own_dirs(self, pgdata: Path) -> None:
        for sub in ("run", "log"):
            (pgdata / sub).mkdir(mode=0o700, exist_ok=True)
            self.run_as.give(pgdata / sub)

    def _data_arg(self, cluster: Path) -> str:
        """How the server's programs, started in ``cluster``, name it."""
        if self.run_as.switches and Path(_OWN_CWD).exists():
            return _OWN_CWD
        return str(cluster)

    def _create_cluster(self, bins: PgBinaries, credentials: _Credentials) -> None:
        staging = self.root / "data.init"  # renamed to data/ once complete
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(mode=0o700)
        self.run_as.give(staging)
        logger.info(
            "creating a PostgreSQL %d cluster in %s",
            bins.major,
            self.pgdata,
            extra={"action": "pg_initdb"},
        )
        initdb = [bins.tool("initdb"), "-D", self._data_arg(staging), "-U", USERNAME]
        initdb += ["--auth=trust", "--no-locale", "--encoding=UTF8"]
        self._run(initdb, staging, credentials)
        hba = staging / "pg_hba.conf"
        hba.write_text(_PG_HBA)
        self.run_as.give(hba)
        self._own_dirs(staging)
        statements = [_alter_password(credentials), f"CREATE DATABASE {DBNAME} OWNER {USERNAME}"]
        self._single_user(bins, staging, statements, credentials)
        staging.rename(self.pgdata)

    def _single_user(
        self, bins: PgBinaries, cluster: Path, statements: list[str], credentials: _Credentials
    ) -> None:
        command = [bins.tool("postgres"), "--single", "-D", self._data_arg(cluster)]
        command += ["-c", "exit_on_error=on", "-c", "password_encryption=scram-sha-256", "postgres"]
        self._run(command, cluster, credentials, stdin=_Hidden("\n".join(statements) + "\n"))

    def _launch(self, bins: PgBinaries, credentials: _Credentials) -> _Credentials:
        for _ in range(3):
            port = (
                credentials.port
                if postmaster.port_free(HOST, credentials.port)
                else postmaster.free_port(HOST)
            )
            credentials = self._save(replace(credentials, port=port))
            command = [bins.tool("pg_ctl"), "start", "-w", "-t", str(START_TIMEOUT), "-s"]
            command += ["-D", self._data_arg(self.pgdata), "-l", LOG_FILE]
            command += ["-o", " ".join(shlex.quote(o) for o in self._server_options(port))]
            try:
                self._run(command, self.pgdata, credentials)
            except EmbeddedPostgresError:
                if postmaster.port_free(HOST, port):  # not a lost race for the port: a real failure
                    raise
                continue
            logger.info(
                "PostgreSQL %d listening on %s:%d",
                bins.major,
                HOST,
                port,
                extra={"action": "pg_start"},
            )
            return credentials
        raise EmbeddedPostgresError("PostgreSQL could not get a free port")

    def _server_options(self, port: int) -> list[str]:
        socket_dir = f"{self._data_arg(self.pgdata)}/run"
        sockets = socket_dir.replace('"', '""')
        if len(f"{socket_dir}/.s.PGSQL.{port}".encode()) > MAX_SOCKET_PATH:
            logger.warning(
                "data dir path too long for a unix socket; PostgreSQL listens on TCP only",
                extra={"action": "pg_start"},
            )
            sockets = ""
        else:
            sockets = f'"{sockets}"'
        return [
            "-c", f"listen_addresses={HOST}",
            "-c", f"port={port}",
            "-c", f"unix_socket_directories={sockets}",
            "-c", "unix_socket_permissions=0700",
            "-c", "password_encryption=scram-sha-256",
            "-c", "wal_level=minimal",
            "-c", "max_wal_senders=0",
        ]  # fmt: skip

    def _run(
        self, command: list[str], cwd: Path, credentials: _Credentials, stdin: str | None = None
    ) -> None:
        """Run a PostgreSQL program as the server's user in ``cwd``; raise with its output.

        The password is blanked out of what is raised.
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        done = subprocess.run(
            command,
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,  # entered before the switch of user
            check=False,
            start_new_session=True,  # the server outlives us, and ignores our terminal's ^C
            timeout=START_TIMEOUT * 2,
            user=self.run_as.uid,
            group=self.run_as.gid,
            extra_groups=self.run_as.extra_groups,
        )
        if done.returncode != 0:
            output = (done.stdout + done.stderr).replace(credentials.password, "***")
            raise EmbeddedPostgresError(
                f"{Path(command[0]).name} failed (exit {done.returncode}): {output.strip()}"
                f"\n--- {self.log_file} ---\n{self._log_tail()}"
            )

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # -- running state ---------------------------------------------------------------------

    def _running_port(self) -> int | None:
        server = postmaster.settled(self.pgdata, START_TIMEOUT)
        return server.port if server else None

    def _stop_running(self) -> None:
        server = postmaster.running(self.pgdata)
        if server is None:
            return
        if not postmaster.stop(server.pid):
            raise EmbeddedPostgresError(f"PostgreSQL (pid {server.pid}) does not stop")
        logger.info("PostgreSQL stopped", extra={"action": "pg_stop"})

    # -- credentials -----------------------------------------------------------------------

    def _read_credentials(self) -> _Credentials | None:
        try:
            data = json.loads((self.root / "credentials.json").read_text())
            return _Credentials(int(data["port"]), str(data["password"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _save(self, credentials: _Credentials) -> _Credentials:
        if credentials == self._read_credentials():
            return credentials
        path = self.root / "credentials.json"
        temp = path.with_suffix(".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"port": credentials.port, "password": credentials.password}, f)
            f.flush()
            os.fsync(f.fileno())
        temp.replace(path)
        return credentials

    def _secret(self, credentials: _Credentials) -> dict[str, str | int]:
        return {
            "engine": "postgres",
            "host": HOST,
            "port": credentials.port,
            "username": USERNAME,
            "password": credentials.password,
            "dbname": DBNAME,
        }

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise starts and stops of this cluster across processes."""
        with open(self.root / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


#: Password login only: over TCP from this machine, and over the (private) unix socket.
_PG_HBA = """\
# Written by s3batch: password (SCRAM) login only.
local   all   all                  scram-sha-256
host    all   all   127.0.0.1/32   scram-sha-256
"""


class _Hidden(str):
    """A string that holds a password: shown as ``'***'`` in reprs and tracebacks."""

    def __repr__(self) -> str:
        return "'***'"


def _alter_password(credentials: _Credentials) -> str:
    # token_urlsafe() characters need no quoting in a SQL string literal.
    return _Hidden(f"ALTER ROLE {USERNAME} WITH PASSWORD '{credentials.password}'")
