"""The spawner: the helper process that starts, watches and reaps the server's job processes.

``s3batch up`` runs one (``python -m s3batch.batch.spawner``) and talks to it over its stdin
and stdout. Starting a process, reading its pipes and reaping it cost the server's Python
more than its own bookkeeping of the job did, and competed with it for one interpreter
lock; here they run on their own lock (and core), in one thread with one selector.

Messages are ``marshal``-encoded tuples, each behind its length (4 bytes, little-endian).
The server sends ``("start", key, argv, env, cwd)`` and ``("kill", key, signal)``; the
spawner answers each start with ``("started", key, pid)`` or ``("failed", key, reason)``,
then sends ``("lines", key, [line, ...])`` as the process writes and, once it has exited
and its pipes are drained, ``("ended", key, returncode, last stderr line)``.

As when a container's main process exits, whatever it left in its process group is killed
then. Pipes a descendant elsewhere still holds are abandoned :data:`DRAIN_SECONDS` later.
When the server goes (the spawner's stdin closes), every job's process group is killed.
"""

from __future__ import annotations

import errno
import marshal
import os
import selectors
import signal
import struct
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from s3batch.batch.output import Lines

#: How long after the main process exits its output may still drain before it is abandoned.
DRAIN_SECONDS = 2.0
#: Seconds between looks at running processes where there is no pidfd to wait on (not Linux).
POLL_SECONDS = 0.01

_LENGTH = struct.Struct("<I")
_CHUNK = 65536


def frame(message: tuple[Any, ...]) -> bytes:
    """One message, ready to write."""
    body = marshal.dumps(message)
    return _LENGTH.pack(len(body)) + body


class Frames:
    """Messages out of a byte stream that arrives in pieces."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[Any, ...]]:
        """The messages ``data`` completes."""
        buffer = self._buffer
        buffer += data
        messages, at = [], 0
        while len(buffer) - at >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(buffer, at)
            end = at + _LENGTH.size + size
            if len(buffer) < end:
                break
            messages.append(marshal.loads(buffer[at + _LENGTH.size : end]))
            at = end
        del buffer[:at]
        return messages


def start_failure(argv: list[str], exc: OSError) -> str:
    """A Docker-style CannotStartContainerError reason."""
    program = argv[0] if argv else ""
    if isinstance(exc, FileNotFoundError) and exc.filename in (program, None):
        return f'CannotStartContainerError: exec: "{program}": executable file not found in $PATH'
    if isinstance(exc, PermissionError) and exc.filename in (program, None):
        return f'CannotStartContainerError: exec: "{program}": permission denied'
    where = f": {exc.filename}" if exc.filename else ""
    return f"CannotStartContainerError: {exc.strerror or exc}{where}"


@dataclass
class Child:
    """One job process: its pipes still open, and its exit once reaped."""

    key: int
    pid: int
    #: The read ends of its stdout and stderr, and those not at their end yet.
    pipes: tuple[int, int]
    lines: Lines
    pidfd: int | None
    open: set[int] = field(default_factory=set)
    returncode: int | None = None
    exited_at: float = 0.0


#: Signals Python ignores (and the spawner: SIGINT) that a job gets back at their defaults.
#: (glibc's posix_spawn leaves its own two internal signals, 32 and 33, ignored in the
#: child, as for every caller of it; a glibc program re-installs their handlers anyway.)
DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT)


def spawn(
    argv: list[str], env: dict[str, str], cwd: str | None, stdio: tuple[int, int, int]
) -> int:
    """Start ``argv`` in its own session with ``stdio`` as its fds 0-2; return its pid.

    The program is looked for on the ``PATH`` of ``env`` as ``execvpe`` does (a name with a
    slash is taken as it is, relative to ``cwd``). ``posix_spawn`` makes no copy of this
    process's memory, and cannot change directory: this (single-threaded) process does,
    around the call.

    Raises:
        OSError: the program or the working directory cannot be used; a program not
            found names the program, as ``execvp`` reports it.
    """
    program = argv[0]
    actions = [(os.POSIX_SPAWN_DUP2, fd, target) for target, fd in enumerate(stdio)]
    home = os.open(".", os.O_RDONLY) if cwd is not None else None
    try:
        if cwd is not None:
            os.chdir(cwd)
        if os.sep in program:
            paths: Iterable[str] = [program]
        else:  # a spawn that fails costs as much as one that works: try only what is there
            paths = (  # in order, up to the first that starts: not a look in every directory
                p for d in os.get_exec_path(env) if os.path.exists(p := os.path.join(d, program))
            )
        refused: OSError | None = None
        for path in paths:
            try:
                return os.posix_spawn(
                    path, argv, env, file_actions=actions, setsid=True, setsigdef=DEFAULT_SIGNALS
                )
            except PermissionError as exc:
                refused = refused or exc
            except (FileNotFoundError, NotADirectoryError):
                pass
        if refused is not None:
            raise PermissionError(refused.errno, refused.strerror, program)
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)
    finally:
        if home is not None:
            os.fchdir(home)
            os.close(home)


class Spawner:
    """Serves one server: runs the commands it sends, reports what its processes do."""

    def __init__(self, commands: int, reports: int) -> None:
        self._commands = commands
        self._reports = reports
        self._selector = selectors.DefaultSelector()
        self._frames = Frames()
        self._children: dict[int, Child] = {}
        self._out = bytearray()
        self._devnull = os.open(os.devnull, os.O_RDONLY)

    def serve(self) -> None:
        """Until the server goes: run its commands, report, reap."""
        self._selector.register(self._commands, selectors.EVENT_READ)
        try:
            while self._round():
                pass
        finally:
            for child in self._children.values():
                if child.returncode is None:
                    _kill(child.pid, signal.SIGKILL)

    def _round(self) -> bool:
        """One wait and what it brought; False once the server is gone."""
        for key, _ in self._selector.select(self._timeout()):
            if key.data is None:
                data = os.read(self._commands, _CHUNK)
                if not data:
                    return False
                for message in self._frames.feed(data):
                    self._command(message)
            else:
                self._readable(key.data, int(key.fd))
        now = time.monotonic()
        for child in list(self._children.values()):
            if child.returncode is None and child.pidfd is None:
                self._poll(child)
            if (
                child.returncode is not None
                and child.open
                and now - child.exited_at > DRAIN_SECONDS
            ):
                self._close_pipes(child)  # a descendant elsewhere holds them: abandoned
            if child.returncode is not None and not child.open:
                self._end(child)
        if self._out:
            _write_all(self._reports, self._out)
            self._out.clear()
        return True

    def _timeout(self) -> float | None:
        waits = [
            max(0.0, child.exited_at + DRAIN_SECONDS - time.monotonic())
            for child in self._children.values()
            if child.returncode is not None
        ]
        if any(c.pidfd is None and c.returncode is None for c in self._children.values()):
            waits.append(POLL_SECONDS)
        return min(waits, default=None)

    def _report(self, *message: Any) -> None:
        self._out += frame(message)

    def _command(self, message: tuple[Any, ...]) -> None:
        if message[0] == "start":
            self._start(*message[1:])
        elif message[0] == "kill":
            child = self._children.get(message[1])
            if child is not None and child.returncode is None:
                _kill(child.pid, message[2])

    def _start(self, key: int, argv: list[str], env: dict[str, str], cwd: str | None) -> None:
        out, err = os.pipe(), os.pipe()
        try:
            pid = spawn(argv, env, cwd, (self._devnull, out[1], err[1]))
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the command or environment
            os.close(out[0])
            os.close(err[0])
            reason = (
                start_failure(argv, exc)
                if isinstance(exc, OSError)
                else f"CannotStartContainerError: {exc}"
            )
            self._report("failed", key, reason)
            return
        finally:
            os.close(out[1])
            os.close(err[1])
        fds = (out[0], err[0])
        child = Child(key, pid, fds, Lines(list(fds), err[0]), _pidfd(pid), set(fds))
        self._children[key] = child
        for fd in fds:
            self._selector.register(fd, selectors.EVENT_READ, child)
        if child.pidfd is not None:
            self._selector.register(child.pidfd, selectors.EVENT_READ, child)
        self._report("started", key, pid)

    def _readable(self, child: Child, fd: int) -> None:
        if fd == child.pidfd:
            self._selector.unregister(fd)
            os.close(fd)
            child.pidfd = None
            self._poll(child)
            return
        try:
            data = os.read(fd, _CHUNK)
        except OSError:
            data = b""  # as at the end: what it wrote so far is kept
        if not data:
            self._selector.unregister(fd)
            child.open.discard(fd)
        lines = child.lines.split(fd, data)
        if lines:
            self._report("lines", child.key, lines)

    def _poll(self, child: Child) -> None:
        """Reap the process if it has exited; then kill what it left in its group."""
        pid, status = os.waitpid(child.pid, os.WNOHANG)
        if pid:
            child.returncode, child.exited_at = os.waitstatus_to_exitcode(status), time.monotonic()
            _kill(child.pid, signal.SIGKILL)

    def _close_pipes(self, child: Child) -> None:
        for fd in child.open:
            self._selector.unregister(fd)
        child.open.clear()
        lines = child.lines.rest()
        if lines:
            self._report("lines", child.key, lines)

    def _end(self, child: Child) -> None:
        for fd in child.pipes:
            os.close(fd)
        del self._children[child.key]
        self._report("ended", child.key, child.returncode, child.lines.last_error_line)


def _kill(pgid: int, sig: int) -> None:
    """Signal a whole process group (quietly, if it is gone)."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _pidfd(pid: int) -> int | None:
    """A descriptor readable once ``pid`` exits (Linux 5.3+); None where there is none."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _write_all(fd: int, data: bytearray) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def main() -> None:
    """Serve the server on stdin/stdout; terminal signals are the server's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    commands, reports = sys.stdin.fileno(), sys.stdout.fileno()
    sys.stdout = sys.stderr  # nothing else may write into the reports
    Spawner(commands, reports).serve()


if __name__ == "__main__":
    main()
