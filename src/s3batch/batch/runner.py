"""Running a job attempt as a process: the Runner seam, the job's environment, ProcessRunner.

A job is a command plus its environment, run as a process in its own process group (its
own session) with stdin closed. ProcessRunner has the spawner (:mod:`s3batch.batch.spawner`,
a helper process) start it, read its stdout and stderr line by line as they are written
and reap it; the lines go to a :class:`LogSink` (the CloudWatch Logs stream of the
attempt). The process never writes job status: the supervisor does, from the outcome.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Protocol

from s3batch.batch import orphans, sensitive
from s3batch.batch.errors import CannotStart
from s3batch.batch.models import Job, Pair
from s3batch.batch.output import LogWriter
from s3batch.batch.spawner import Frames, frame
from s3batch.clock import Clock

logger = logging.getLogger(__name__)


class LogSink(Protocol):
    """Where job output goes: CloudWatch Logs' PutLogEvents in spirit (``s3batch.logs`` fits)."""

    def append(self, group: str, stream: str, events: list[tuple[int, str]]) -> None:
        """Add ``(timestamp ms, message)`` events to a stream, creating group and stream if needed."""
        ...


@dataclass(frozen=True)
class JobEnvironment:
    """What the runtime gives every job: the local endpoint, credentials and a base environment."""

    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    region: str
    #: Directories put in front of PATH (where the ``s3batch`` command lives, say).
    path: tuple[str, ...] = ()
    #: The base environment (PATH, HOME, LANG, ...); the server's own is not inherited.
    base: Mapping[str, str] = field(default_factory=dict)
    #: Working directory of job processes (None: the server's).
    workdir: Path | None = None
    #: Where job definitions' ``secrets`` are fetched from (Secrets Manager; None: nowhere).
    secrets: sensitive.SecretSource | None = field(default=None, compare=False)

    @cached_property
    def shared(self) -> dict[str, str]:
        """The part every job gets (built once): the base, PATH, the endpoint and credentials."""
        env = dict(self.base)
        if self.path:
            env["PATH"] = os.pathsep.join([*self.path, *filter(None, [env.get("PATH")])])
        env.update(
            AWS_ENDPOINT_URL=self.endpoint_url,
            AWS_ACCESS_KEY_ID=self.access_key_id,
            AWS_SECRET_ACCESS_KEY=self.secret_access_key,
            AWS_DEFAULT_REGION=self.region,
            AWS_REGION=self.region,
        )
        return env

    def variables(self, job: Job, attempt: int) -> dict[str, str]:
        """The environment of one attempt of ``job``, as AWS Batch sets a container's."""
        env = {**self.shared, **dict(job.container.environment)}
        env.update(
            AWS_BATCH_JOB_ID=job.id,
            AWS_BATCH_JOB_ATTEMPT=str(attempt),
            AWS_BATCH_JQ_NAME=job.queue,
            AWS_BATCH_CE_NAME=job.compute_environment or "",
        )
        if job.array_index is not None:
            env["AWS_BATCH_JOB_ARRAY_INDEX"] = str(job.array_index)
            env["AWS_BATCH_JOB_ARRAY_SIZE"] = str(job.array_size)
        return env

    def launch(self, job: Job, attempt: int, log_group: str, log_stream: str) -> Launch:
        """Attempt ``attempt`` of ``job``, its secrets not fetched yet (see :meth:`with_secrets`)."""
        c = job.container
        own = {name for name, _ in c.environment} | {name for name, _ in c.secrets}
        return Launch(
            job.id,
            attempt,
            c.command,
            self.variables(job, attempt),
            log_group,
            log_stream,
            self.workdir,
            c.image,
            c.vcpus,
            c.memory,
            c.secrets,
            frozenset(self.base) - own,
        )

    def with_secrets(self, launch: Launch) -> Launch:
        """``launch`` with its secrets' values fetched now and set over its environment.

        Raises:
            ResourceInitializationError: a secret does not resolve.
        """
        if not launch.secrets:
            return launch
        values = sensitive.resolve(launch.secrets, self.secrets)
        return replace(launch, env={**launch.env, **values})


@dataclass(frozen=True)
class Launch:
    """One attempt to start: the argv (never a shell string), its environment and log stream."""

    job_id: str
    attempt: int
    argv: tuple[str, ...]
    env: Mapping[str, str]
    log_group: str
    log_stream: str
    cwd: Path | None = None
    #: The container image and resources (used by the Docker executor only).
    image: str | None = None
    vcpus: float = 1.0
    memory_mib: int | None = None
    #: ``(name, valueFrom)``: variables whose values are fetched as the attempt starts.
    secrets: tuple[Pair, ...] = ()
    #: Variables of the base environment that describe this host (PATH, HOME, ...) and that
    #: the job does not set itself: a container does not get them.
    host: frozenset[str] = frozenset()


#: Longest container reason kept (AWS truncates reasons at 255 characters).
MAX_REASON = 255


@dataclass(frozen=True)
class Outcome:
    """How an attempt's process ended: ``exit_code`` is 128+N when killed by signal N (as Docker reports)."""

    exit_code: int | None
    signal: int | None = None
    reason: str | None = None

    @classmethod
    def from_returncode(cls, returncode: int, error_line: str | None = None) -> Outcome:
        """Decode a ``Popen.returncode`` (negative: killed by that signal).

        A failed exit's reason is the last line the process wrote to stderr (at most
        :data:`MAX_REASON` characters), so ``describe`` says *why* a job failed.
        """
        if returncode > 0 and error_line:
            return cls(returncode, reason=error_line[:MAX_REASON])
        if returncode >= 0:
            return cls(returncode)
        number = -returncode
        return cls(128 + number, number, f"Killed by signal {signal_name(number)}")


def signal_name(number: int) -> str:
    """``SIGKILL`` for 9; ``signal 77`` for numbers without a name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class Handle(Protocol):
    """A started attempt."""

    pgid: int

    def poll(self) -> Outcome | None:
        """The outcome once the process has ended and its output is stored; None while it runs."""
        ...

    def kill(self, sig: int) -> None:
        """Send ``sig`` to the attempt's whole process group."""
        ...


class Runner(Protocol):
    """Starts attempts (one small interface: processes here, containers or stubs elsewhere)."""

    #: Called (from any thread) once an attempt has ended and its output is stored: the
    #: engine sets its wake here, so an exit is recorded at once instead of at a poll.
    on_exit: Callable[[], None]

    def start(self, launch: Launch, sink: LogSink) -> Future[Handle]:
        """Begin starting an attempt whose output goes to ``sink``.

        The future's result is the started attempt; its exception, CannotStart with the
        reason, when the command could not be started.

        Raises:
            CannotStart: the attempt cannot be started at all (known before trying).
        """
        ...

    def close(self) -> None:
        """Release what the runner holds (its attempts have ended)."""
        ...


def wait(handle: Handle, timeout: float, step: float = 0.01) -> Outcome | None:
    """Poll ``handle`` until it ends or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while (outcome := handle.poll()) is None and time.monotonic() < deadline:
        time.sleep(step)
    return outcome


#: The reason of an attempt whose spawner stopped under it (it kills its processes as it goes).
SPAWNER_STOPPED = "CannotStartContainerError: the s3batch job spawner stopped"


class ProcessHandle:
    """A job process that the spawner runs, in its own process group."""

    def __init__(self, runner: ProcessRunner, key: int, launch: Launch, sink: LogSink) -> None:
        self.pgid = 0  # start_new_session: the process leads its own group (set once started)
        self.launch = launch
        self.sink = sink
        self._runner = runner
        self._key = key
        self._outcome: Outcome | None = None

    def poll(self) -> Outcome | None:
        """The outcome, once the process has exited and its output is stored."""
        return self._outcome

    def kill(self, sig: int) -> None:
        """Signal the whole process group (nothing, once the process has been reaped)."""
        self._runner.send(("kill", self._key, int(sig)))

    def ended(self, outcome: Outcome) -> None:
        """The process ended as ``outcome`` and its output is stored."""
        self._outcome = outcome


class ProcessRunner:
    """Runs each attempt as a local process in its own process group, through the spawner.

    The spawner (:mod:`s3batch.batch.spawner`, a helper process started with the first
    attempt) starts, reads and reaps the processes; one thread here reads its reports:
    it resolves starts, hands output lines to the :class:`LogWriter` stamped with the
    clock, and records each exit once its output is stored.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.writer = LogWriter()
        self.on_exit: Callable[[], None] = lambda: None
        self._lock = threading.Lock()
        self._spawner: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._keys = itertools.count(1)
        #: Attempts the spawner runs or is starting: key → handle and its start.
        self._attempts: dict[int, tuple[ProcessHandle, Future[Handle]]] = {}

    def start(self, launch: Launch, sink: LogSink) -> Future[Handle]:
        """Have the spawner start the attempt's command: its environment, stdin closed."""
        future: Future[Handle] = Future()
        cwd = None if launch.cwd is None else str(launch.cwd)
        with self._lock:
            key = next(self._keys)
            self._attempts[key] = (ProcessHandle(self, key, launch, sink), future)
            self._send(("start", key, list(launch.argv), dict(launch.env), cwd))
        return future

    def send(self, message: tuple[object, ...]) -> None:
        """Send the running spawner a command (none runs: nothing it had still runs)."""
        with self._lock:
            if self._spawner is not None:
                self._send(message)

    def _send(self, message: tuple[object, ...]) -> None:
        data = frame(message)
        spawner = self._spawner or self._open()
        assert spawner.stdin is not None
        try:
            spawner.stdin.write(data)
            spawner.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # it stopped: the reader fails what it had

    def _open(self) -> subprocess.Popen[bytes]:
        """Start a spawner (with the first attempt, or after one stopped) and its reader."""
        spawner = subprocess.Popen(
            [sys.executable, "-P", "-m", "s3batch.batch.spawner"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C is the server's to handle, not the spawner's
            close_fds=True,
        )
        self._spawner = spawner
        self._reader = threading.Thread(
            target=self._read, args=(spawner,), name="job-spawner", daemon=True
        )
        self._reader.start()
        return spawner

    def _read(self, spawner: subprocess.Popen[bytes]) -> None:
        assert spawner.stdout is not None
        frames, fd = Frames(), spawner.stdout.fileno()
        while data := os.read(fd, 65536):
            for message in frames.feed(data):
                try:
                    self._report(*message)
                except Exception:  # one bad report must not stop the others
                    logger.exception("job spawner report failed", extra={"action": "spawner"})
        self._lost(spawner)

    def _report(self, kind: str, key: int, *rest: object) -> None:
        handle, future = self._attempts[key]
        if kind == "started":
            handle.pgid = int(rest[0])  # type: ignore[call-overload]
            future.set_result(handle)
            logger.debug(
                "started job %s attempt %d as pid %d",
                handle.launch.job_id,
                handle.launch.attempt,
                handle.pgid,
                extra={"action": "start_process"},
            )
        elif kind == "failed":
            del self._attempts[key]
            future.set_exception(CannotStart(str(rest[0])))
        elif kind == "lines":
            now = int(self.clock.now().timestamp() * 1000)
            events = [(now, line) for line in rest[0]]  # type: ignore[attr-defined]
            launch, sink = handle.launch, handle.sink
            self.writer.submit(lambda: sink.append(launch.log_group, launch.log_stream, events))
        else:  # "ended"
            del self._attempts[key]
            outcome = Outcome.from_returncode(rest[0], rest[1])  # type: ignore[arg-type]
            self.writer.after(lambda: self._ended(handle, outcome))

    def _ended(self, handle: ProcessHandle, outcome: Outcome) -> None:
        handle.ended(outcome)
        self.on_exit()

    def _lost(self, spawner: subprocess.Popen[bytes]) -> None:
        """The spawner is gone (closed, or it died): kill what it still ran, end those attempts.

        A spawner that exits kills its processes itself; one that was killed could not, and
        they are found by their job id (as after a crash: :mod:`s3batch.batch.orphans`).
        """
        with self._lock:
            if self._spawner is spawner:
                self._spawner = None
            attempts, self._attempts = self._attempts, {}
        assert spawner.stdin is not None and spawner.stdout is not None
        spawner.stdout.close()
        spawner.stdin.close()
        spawner.wait()
        orphans.sweep({h.launch.job_id: h.pgid for h, _ in attempts.values() if h.pgid})
        for handle, future in attempts.values():
            if not future.done():
                future.set_exception(CannotStart(SPAWNER_STOPPED))
            else:
                self.writer.after(
                    lambda h=handle: self._ended(h, Outcome(None, reason=SPAWNER_STOPPED))
                )
        if attempts:
            logger.error(
                "the job spawner stopped with %d attempts",
                len(attempts),
                extra={"action": "spawner"},
            )

    def close(self) -> None:
        """Stop the spawner (it kills what still runs) and wait for its reader."""
        with self._lock:
            spawner, reader, self._spawner = self._spawner, self._reader, None
        if spawner is None or reader is None:
            return
        assert spawner.stdin is not None
        spawner.stdin.close()
        reader.join(timeout=10)
        if reader.is_alive():  # a spawner that does not go when asked is made to
            spawner.kill()
            reader.join()
