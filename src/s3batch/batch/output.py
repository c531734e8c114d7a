"""A job's output as log events: its lines, and the thread that stores them in order.

:class:`Lines` splits what a process writes to its stdout and stderr into lines (in the
spawner, which reads the pipes). Lines longer than a CloudWatch event (256 KiB) are split
between characters; empty lines are dropped, as the awslogs driver does. The last line
written to stderr is kept: it says why a failed job failed, usually.

In the server, one :class:`LogWriter` thread does every write of job output to the log
store, so neither the thread reading the spawner nor the engine waits on the database.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

#: The largest CloudWatch Logs event message (bytes) before a line is split.
MAX_LINE = 256 * 1024 - 26


class Lines:
    """The lines of one process's pipes, as they arrive in pieces."""

    def __init__(self, fds: list[int], stderr: int) -> None:
        self.partial: dict[int, bytes] = dict.fromkeys(fds, b"")
        self._stderr = stderr
        #: The last line the process wrote to stderr: why it failed, usually.
        self.last_error_line: str | None = None

    def split(self, fd: int, data: bytes) -> list[str]:
        """The complete lines ``data`` read from ``fd`` ends (empty ``data``: end of file)."""
        partial = self.partial
        if not data:  # end of file: the last line had no newline
            rest, partial[fd] = partial[fd], b""
            return self._kept(fd, [rest])
        *complete, rest = (partial[fd] + data).split(b"\n")
        lines = [piece for line in complete for piece in _pieces(line)]
        *whole, partial[fd] = _pieces(rest)  # a line still arriving: hand over what is whole
        return self._kept(fd, lines + whole)

    def rest(self) -> list[str]:
        """What is left unended in every pipe (the pipes are being abandoned)."""
        rests = [(fd, rest) for fd, rest in self.partial.items() if rest]
        self.partial = dict.fromkeys(self.partial, b"")
        return [line for fd, rest in rests for line in self._kept(fd, [rest])]

    def _kept(self, fd: int, lines: list[bytes]) -> list[str]:
        kept = [_text(line) for line in lines if line.rstrip(b"\r")]
        if fd == self._stderr and kept:
            self.last_error_line = kept[-1]
        return kept


def _quietly(hook: Callable[[], None]) -> None:
    """Call a notification hook; a failing one is logged, never raised into the writer."""
    try:
        hook()
    except Exception:
        logger.exception("output hook failed", extra={"action": "job_output"})


def _pieces(line: bytes) -> list[bytes]:
    """A line cut into events of at most :data:`MAX_LINE` bytes, between characters."""
    pieces = []
    while len(line) > MAX_LINE:
        cut = _boundary(line)
        pieces.append(line[:cut])
        line = line[cut:]
    pieces.append(line)
    return pieces


def _boundary(line: bytes) -> int:
    """Where to cut ``line`` (longer than :data:`MAX_LINE`): at most that many bytes, not
    inside a UTF-8 character (back over at most 3 continuation bytes)."""
    cut = MAX_LINE
    while cut > MAX_LINE - 3 and line[cut] & 0xC0 == 0x80:
        cut -= 1
    return cut if line[cut] & 0xC0 != 0x80 else MAX_LINE


def _text(line: bytes) -> str:
    return line.rstrip(b"\r").decode("utf-8", errors="replace")


class LogWriter:
    """One long-lived thread that runs writes in the order they were submitted."""

    def __init__(self, name: str = "job-log-writer") -> None:
        self._name = name
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        #: Writes submitted and writes run: equal when nothing is outstanding.
        self._submitted = self._ran = 0

    def submit(self, write: Callable[[], None]) -> None:
        """Run ``write`` on the writer thread after every write submitted before it."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._submitted += 1
        self._queue.put(write)

    def after(self, then: Callable[[], None]) -> None:
        """Call ``then`` once every write submitted so far has run: at once, on this thread,
        when none is outstanding (no thread hand-off for a job that wrote nothing)."""
        with self._lock:
            idle = self._ran == self._submitted
        if idle:
            _quietly(then)
        else:
            self.submit(lambda: _quietly(then))

    def _run(self) -> None:
        while True:
            write = self._queue.get()
            try:
                write()
            except Exception:  # a failing log store must not stop the other jobs' output
                logger.exception("could not store job output", extra={"action": "job_output"})
            with self._lock:
                self._ran += 1
