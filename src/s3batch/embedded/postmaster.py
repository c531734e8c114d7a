"""The running PostgreSQL server process: its ``postmaster.pid``, liveness, stopping, ports."""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

#: Escalation when stopping: fast shutdown, then immediate shutdown, then kill (seconds each).
STOP_STEPS = ((signal.SIGINT, 60.0), (signal.SIGQUIT, 10.0), (signal.SIGKILL, 10.0))


@dataclass(frozen=True)
class Postmaster:
    """A live server, as its ``postmaster.pid`` describes it."""

    pid: int
    port: int
    status: str  # "starting", "ready", "stopping" or "standby"


def running(pgdata: Path) -> Postmaster | None:
    """The server of cluster ``pgdata`` when its ``postmaster.pid`` names a live process."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return None
    status = lines[7].strip() if len(lines) > 7 else "ready"
    return Postmaster(pid, port, status) if alive(pid) else None


def settled(pgdata: Path, timeout: float) -> Postmaster | None:
    """Like :func:`running`, after waiting (up to ``timeout``) for a start or stop to finish."""
    deadline = time.monotonic() + timeout
    while (server := running(pgdata)) is not None:
        if server.status == "ready" or time.monotonic() > deadline:
            return server
        time.sleep(0.1)
    return None


def stop(pid: int) -> bool:
    """Stop a server, escalating as :data:`STOP_STEPS` says; False if it outlived them all."""
    for sig, timeout in STOP_STEPS:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        if _wait_gone(pid, timeout):
            return True
        logger.warning("PostgreSQL did not stop on %s", sig.name, extra={"action": "pg_stop"})
    return False


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) postgres process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{pid}")
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        command = (proc / "cmdline").read_bytes()
    except (OSError, IndexError):
        return True  # no /proc: trust kill(0)
    # A zombie is dead (its parent, maybe init, just has not reaped it); a reused pid is not ours.
    return state != "Z" and b"postgres" in command


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def port_free(host: str, port: int) -> bool:
    """Whether the server could listen on ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As PostgreSQL binds: a port whose old connections linger in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    """A port nothing listens on now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port
