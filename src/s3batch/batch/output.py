"""Reading a process's stdout and stderr line by line as they are written.

One :class:`OutputMux` thread waits on the pipes of every running job at once (a thread
per job would cost a thread start per job), splits what arrives into lines, stamps each
line with the time it was read and hands every batch that was ready together to a callback
(so a chatty job costs one log write per burst, not per line). Lines longer than a
CloudWatch event (256 KiB) are split; empty lines are dropped, as the awslogs driver does.
Given the process's pidfd, the mux also watches for its exit, so a pump ends (and says so)
only once the process can be reaped too: the end of output alone comes a moment before it.

The callbacks hand batches to one :class:`LogWriter` thread that does every write, so the
reading thread never waits on the database.
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

Events = list[tuple[int, str]]


class OutputPump:
    """Pumps lines from one process's pipes to a callback until every pipe is closed and the
    process (its ``pidfd``, when given) has exited, or :meth:`abandon`; an
    :class:`OutputMux` thread does the reading."""

    def __init__(
        self,
        pipes: list[IO[bytes]],
        clock: Clock,
        emit: Callable[[Events], None],
        mux: OutputMux,
        on_eof: Callable[[], None] = lambda: None,
        pidfd: int | None = None,
    ) -> None:
        self._pipes = pipes
        #: Readable once the process has exited (Linux ``pidfd_open``); closed by :meth:`finish`.
        self.pidfd = pidfd
        self._clock = clock
        self._emit = emit
        self._mux = mux
        self._on_eof = on_eof
        self._done = threading.Event()
        self._stderr = pipes[-1].fileno() if len(pipes) > 1 else -1
        self.partial: dict[int, bytes] = {p.fileno(): b"" for p in pipes}
        #: The last line the process wrote to stderr: why it failed, usually.
        self.last_error_line: str | None = None

    @property
    def fds(self) -> list[int]:
        """The file descriptors to watch: the pipes' and the pidfd."""
        return [*self.partial, *([] if self.pidfd is None else [self.pidfd])]

    def start(self) -> None:
        """Start reading (on the mux thread)."""
        self._mux.add(self)

    def is_alive(self) -> bool:
        """Whether some pipe is still open."""
        return not self._done.is_set()

    def abandon(self) -> None:
        """Stop reading (a descendant still holds a pipe open); the pipes are closed."""
        self._mux.drop(self)
        self._done.wait(timeout=1.0)

    def finish(self) -> None:
        """Hand over what is left, close the pipes and report the end (mux thread)."""
        self.send([(self._now(), _text(rest)) for rest in self.partial.values() if rest])
        for pipe in self._pipes:
            pipe.close()
        if self.pidfd is not None:
            os.close(self.pidfd)
        self._done.set()
        _quietly(self._on_eof)

    def split(self, fd: int, data: bytes, batch: Events) -> None:
        """Add the complete lines of ``data`` read from ``fd`` to ``batch`` (empty: end of file)."""
        partial = self.partial
        now = self._now()
        if not data:  # end of file: the last line had no newline
            rest, partial[fd] = partial[fd], b""
            if rest:
                batch.append((now, _text(rest)))
                if fd == self._stderr:
                    self.last_error_line = _text(rest)
            return
        *complete, rest = (partial[fd] + data).split(b"\n")
        lines = [piece for line in complete for piece in _pieces(line)]
        *whole, partial[fd] = _pieces(rest)  # a line still arriving: hand over what is whole
        lines += whole
        kept = [(now, _text(line)) for line in lines if line.rstrip(b"\r")]
        if fd == self._stderr and kept:
            self.last_error_line = kept[-1][1]
        batch.extend(kept)

    def send(self, batch: Events) -> None:
        """Hand a batch of lines to the callback; a failing callback is logged."""
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


class OutputMux:
    """One thread that reads the pipes of every running job: a selector, not a thread per job."""

    def __init__(self, name: str = "job-output") -> None:
        self._name = name
        self._changes: queue.SimpleQueue[tuple[bool, OutputPump]] = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def add(self, pump: OutputPump) -> None:
        """Start reading ``pump``'s pipes."""
        self._change(True, pump)

    def drop(self, pump: OutputPump) -> None:
        """Stop reading ``pump``'s pipes, and finish it."""
        self._change(False, pump)

    def _change(self, add: bool, pump: OutputPump) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        self._changes.put((add, pump))
        try:
            os.write(self._wake_w, b"x")
        except BlockingIOError:
            pass  # the pipe is full of wake-ups already

    def _run(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_r, selectors.EVENT_READ)
            while True:
                batches: dict[OutputPump, Events] = {}
                for key, _ in selector.select():
                    if key.fd == self._wake_r:
                        os.read(self._wake_r, 4096)
                        self._apply_changes(selector)
                        continue
                    pump = key.data
                    if not _registered(selector, int(key.fd), pump):
                        continue  # dropped earlier in this round: its pipes are closed
                    if key.fd == pump.pidfd:  # the process exited: nothing to read
                        selector.unregister(key.fd)
                        batches.setdefault(pump, [])
                        continue
                    try:
                        data = os.read(int(key.fd), 65536)
                    except OSError:
                        logger.exception(
                            "reading job output failed", extra={"action": "job_output"}
                        )
                        data = b""
                    if not data:
                        selector.unregister(key.fd)
                    pump.split(int(key.fd), data, batches.setdefault(pump, []))
                for pump, batch in batches.items():
                    pump.send(batch)
                    if pump.is_alive() and not any(_registered(selector, fd) for fd in pump.fds):
                        pump.finish()

    def _apply_changes(self, selector: selectors.BaseSelector) -> None:
        while not self._changes.empty():
            add, pump = self._changes.get()
            if add:
                for fd in pump.fds:
                    selector.register(fd, selectors.EVENT_READ, pump)
                continue
            for fd in pump.fds:
                if _registered(selector, fd):
                    selector.unregister(fd)
            if pump.is_alive():
                pump.finish()


def _registered(selector: selectors.BaseSelector, fd: int, pump: OutputPump | None = None) -> bool:
    """Whether ``fd`` is watched (for ``pump``, when given)."""
    try:
        key = selector.get_key(fd)
    except KeyError:
        return False
    return pump is None or key.data is pump


def _quietly(hook: Callable[[], None]) -> None:
    """Call a notification hook; a failing one is logged, never raised into the pipes."""
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

    def flushed(self, then: Callable[[], None] = lambda: None) -> threading.Event:
        """An event set once every write submitted so far has run; ``then`` is called after.

        With nothing outstanding the event is set at once and ``then`` is not called: the
        caller needs no wake-up for a flush that was never pending.
        """
        done = threading.Event()
        with self._lock:
            idle = self._ran == self._submitted
        if idle:
            done.set()
            return done

        def mark() -> None:
            done.set()
            _quietly(then)

        self.submit(mark)
        return done

    def _run(self) -> None:
        while True:
            write = self._queue.get()
            try:
                write()
            except Exception:  # a failing log store must not stop the other jobs' output
                logger.exception("could not store job output", extra={"action": "job_output"})
            with self._lock:
                self._ran += 1
