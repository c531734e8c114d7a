"""Reading a process's stdout and stderr line by line as they are written.

One thread per process waits on both pipes at once, splits what arrives into lines, stamps
each line with the time it was read and hands every batch that was ready together to a
callback (so a chatty job costs one log write per burst, not per line). Lines longer than
a CloudWatch event (256 KiB) are split; empty lines are dropped, as the awslogs driver does.

The callbacks hand batches to one :class:`LogWriter` thread that does every write: pump
threads come and go with jobs, and a sink backed by the state store would otherwise open a
database connection in each of them.
"""

from __future__ import annotations

import logging
import os
import queue
import selectors
import threading
from collections.abc import Callable
from typing import IO

from s3batch.clock import Clock

logger = logging.getLogger(__name__)

#: The largest CloudWatch Logs event message (bytes) before a line is split.
MAX_LINE = 256 * 1024 - 26
#: How often the thread checks whether it was told to give up.
POLL_SECONDS = 0.1

Events = list[tuple[int, str]]


class OutputPump(threading.Thread):
    """Pumps lines from pipes to a callback until every pipe is closed (or :meth:`abandon`)."""

    def __init__(
        self, pipes: list[IO[bytes]], clock: Clock, emit: Callable[[Events], None], name: str
    ) -> None:
        super().__init__(name=name, daemon=True)
        self._pipes = pipes
        self._clock = clock
        self._emit = emit
        self._abandoned = threading.Event()
        self._stderr = pipes[-1].fileno() if len(pipes) > 1 else -1
        #: The last line the process wrote to stderr: why it failed, usually.
        self.last_error_line: str | None = None

    def abandon(self) -> None:
        """Stop reading (a descendant still holds a pipe open); the thread closes the pipes."""
        self._abandoned.set()
        self.join(timeout=1.0)

    def run(self) -> None:
        """Read until end of file on every pipe."""
        partial: dict[int, bytes] = {p.fileno(): b"" for p in self._pipes}
        with selectors.DefaultSelector() as selector:
            for pipe in self._pipes:
                selector.register(pipe.fileno(), selectors.EVENT_READ)
            while selector.get_map() and not self._abandoned.is_set():
                batch: Events = []
                for key, _ in selector.select(timeout=POLL_SECONDS):
                    fd = int(key.fd)
                    data = os.read(fd, 65536)
                    if not data:
                        selector.unregister(fd)
                    self._split(partial, fd, data, batch)
                self._send(batch)
        self._send([(self._now(), _text(rest)) for rest in partial.values() if rest])
        for pipe in self._pipes:
            pipe.close()

    def _split(self, partial: dict[int, bytes], fd: int, data: bytes, batch: Events) -> None:
        now = self._now()
        if not data:  # end of file: the last line had no newline
            rest, partial[fd] = partial[fd], b""
            if rest:
                batch.append((now, _text(rest)))
                if fd == self._stderr:
                    self.last_error_line = _text(rest)
            return
        *lines, partial[fd] = (partial[fd] + data).split(b"\n")
        while len(partial[fd]) > MAX_LINE:
            lines.append(partial[fd][:MAX_LINE])
            partial[fd] = partial[fd][MAX_LINE:]
        kept = [(now, _text(line)) for line in lines if line.rstrip(b"\r")]
        if fd == self._stderr and kept:
            self.last_error_line = kept[-1][1]
        batch.extend(kept)

    def _send(self, batch: Events) -> None:
        batch = [(ts, message) for ts, message in batch if message]
        if not batch:
            return
        try:
            self._emit(batch)
        except Exception:  # a failing log store must not stop the pipes draining
            logger.exception(
                "could not store %d output lines", len(batch), extra={"action": "job_output"}
            )

    def _now(self) -> int:
        return int(self._clock.now().timestamp() * 1000)


def _text(line: bytes) -> str:
    return line.rstrip(b"\r").decode("utf-8", errors="replace")


class LogWriter:
    """One long-lived thread that runs writes in the order they were submitted."""

    def __init__(self, name: str = "job-log-writer") -> None:
        self._name = name
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, write: Callable[[], None]) -> None:
        """Run ``write`` on the writer thread after every write submitted before it."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        self._queue.put(write)

    def flushed(self) -> threading.Event:
        """An event set once every write submitted so far has run."""
        done = threading.Event()
        self.submit(done.set)
        return done

    def _run(self) -> None:
        while True:
            write = self._queue.get()
            try:
                write()
            except Exception:  # a failing log store must not stop the other jobs' output
                logger.exception("could not store job output", extra={"action": "job_output"})
