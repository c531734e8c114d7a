"""Running a job attempt as a process: the Runner seam, the job's environment, ProcessRunner.

A job is a command plus its environment, run as a process in its own process group
(``start_new_session``) with stdin closed. Its stdout and stderr are read line by line as
they are written and handed to a :class:`LogSink` (the CloudWatch Logs stream of the
attempt). The process never writes job status: the supervisor does, from the outcome.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Protocol

from s3batch.batch import sensitive
from s3batch.batch.errors import CannotStart
from s3batch.batch.models import Job, Pair
from s3batch.batch.output import LogWriter, OutputMux, OutputPump
from s3batch.clock import Clock

logger = logging.getLogger(__name__)

#: How long after the main process exits its output may still drain before it is abandoned.
DRAIN_SECONDS = 2.0


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

    def start(self, launch: Launch, sink: LogSink) -> Handle:
        """Start an attempt whose output goes to ``sink``.

        Raises:
            CannotStart: the command could not be started (reason in the message).
        """
        ...


def wait(handle: Handle, timeout: float, step: float = 0.01) -> Outcome | None:
    """Poll ``handle`` until it ends or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while (outcome := handle.poll()) is None and time.monotonic() < deadline:
        time.sleep(step)
    return outcome


class ProcessHandle:
    """A job process: its own process group, with output pumped to the log sink."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        pump: OutputPump,
        writer: LogWriter,
        on_exit: Callable[[], None] = lambda: None,
    ) -> None:
        self.process = process
        self._on_exit = on_exit
        self.pid = process.pid
        self.pgid = process.pid  # start_new_session: the process leads its own group
        self._pump = pump
        self._writer = writer
        self._exited_at: float | None = None
        self._flushed: threading.Event | None = None

    def poll(self) -> Outcome | None:
        """The outcome, once the process has exited and its output is stored."""
        returncode = self.process.poll()
        if returncode is None:
            return None
        if self._exited_at is None:
            self._exited_at = time.monotonic()
            # As when a container's main process exits: whatever it left behind goes too.
            self.kill(signal.SIGKILL)
        if self._flushed is None:
            if self._pump.is_alive():
                if time.monotonic() - self._exited_at < DRAIN_SECONDS:
                    return None
                self._pump.abandon()
            self._flushed = self._writer.flushed(then=self._on_exit)
        if not self._flushed.is_set():
            return None
        return Outcome.from_returncode(returncode, self._pump.last_error_line)

    def kill(self, sig: int) -> None:
        """Signal the whole process group (quietly, if it is gone)."""
        try:
            os.killpg(self.pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass


class ProcessRunner:
    """Runs each attempt as a local process in its own process group."""

    def __init__(self, clock: Clock, on_exit: Callable[[], None] = lambda: None) -> None:
        self.clock = clock
        self.writer = LogWriter()
        self.mux = OutputMux()
        #: Called (from another thread) when a job's output ends and when it is stored: the
        #: engine's wake, so an exit is recorded at once instead of at the next poll.
        self.on_exit = on_exit

    def start(self, launch: Launch, sink: LogSink) -> ProcessHandle:
        """Start the attempt's command with its environment, stdin closed, output to ``sink``.

        Raises:
            CannotStart: the executable is missing or not executable, or the working directory is.
        """
        try:
            process = subprocess.Popen(
                list(launch.argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=launch.env,
                cwd=launch.cwd,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise CannotStart(_start_failure(launch, exc)) from exc
        assert process.stdout is not None and process.stderr is not None
        pump = OutputPump(
            [process.stdout, process.stderr],
            self.clock,
            lambda events: self.writer.submit(
                lambda: sink.append(launch.log_group, launch.log_stream, events)
            ),
            self.mux,
            on_eof=lambda: self.on_exit(),
            pidfd=_pidfd(process.pid),
        )
        pump.start()
        logger.debug(
            "started job %s attempt %d as pid %d",
            launch.job_id,
            launch.attempt,
            process.pid,
            extra={"action": "start_process"},
        )
        return ProcessHandle(process, pump, self.writer, lambda: self.on_exit())


def _pidfd(pid: int) -> int | None:
    """A descriptor readable once ``pid`` exits (Linux 5.3+); None where there is none."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _start_failure(launch: Launch, exc: OSError) -> str:
    """A Docker-style CannotStartContainerError reason."""
    program = launch.argv[0] if launch.argv else ""
    if isinstance(exc, FileNotFoundError) and exc.filename in (program, None):
        return f'CannotStartContainerError: exec: "{program}": executable file not found in $PATH'
    if isinstance(exc, PermissionError) and exc.filename in (program, None):
        return f'CannotStartContainerError: exec: "{program}": permission denied'
    where = f": {exc.filename}" if exc.filename else ""
    return f"CannotStartContainerError: {exc.strerror or exc}{where}"
