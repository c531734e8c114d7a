"""The supervisor: starts placed jobs, reaps their processes and records every outcome.

The parent owns job status; a job process never writes it. Each :meth:`Supervisor.tick`
reaps ended attempts (exit 0 → SUCCEEDED; otherwise back to RUNNABLE while the retry
strategy allows, else FAILED), enforces ``attemptDurationSeconds`` (SIGTERM to the process
group, SIGKILL ``kill_grace`` seconds later; a timed-out job is not retried) and starts
STARTING jobs (→ RUNNING). :meth:`Supervisor.shutdown` stops every job when the server
stops; :meth:`Supervisor.recover` settles jobs a crashed server left in flight.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from s3batch.batch import orphans, store
from s3batch.batch.errors import CannotStart, TransitionConflict
from s3batch.batch.models import Attempt, Job
from s3batch.batch.registry import epoch_ms
from s3batch.batch.retry import should_retry
from s3batch.batch.runner import Handle, JobEnvironment, Launch, LogSink, Outcome, Runner, wait
from s3batch.batch.service import BatchService, Move
from s3batch.batch.status import JobStatus
from s3batch.clock import Clock

logger = logging.getLogger(__name__)

S = JobStatus
#: The log group of every job (awslogs' default for Batch).
LOG_GROUP = "/aws/batch/job"
#: statusReason texts, as AWS words them where AWS has them (reference/batch.md 1.2).
EXITED = "Essential container in task exited"
TIMED_OUT = "Job attempt duration exceeded timeout"
TERMINATED = "Terminated by TerminateJob"
SERVER_STOPPED = "Job terminated: s3batch server stopped"
SERVER_RESTARTED = "s3batch server restarted while the job was running"
RESTARTED_BEFORE_START = "s3batch server restarted before the job started"


def log_stream_name(definition_name: str, job_id: str, attempt: int) -> str:
    """``<definition>/default/<job id>``; a retry writes to its own stream (``…-<attempt>``), as each AWS task does."""
    suffix = "" if attempt == 1 else f"-{attempt}"
    return f"{definition_name[:200]}/default/{job_id}{suffix}"


@dataclass
class Running:
    """Supervisor-side state of one running attempt."""

    job: Job
    number: int
    handle: Handle
    started_at: int
    log_stream: str
    term_sent_at: int | None = None
    killed: bool = False
    timed_out: bool = False
    stop_reason: str | None = None


@dataclass
class Ended:
    """Attempts :meth:`Supervisor.collect` found ended: the moves that record them, for
    :meth:`Supervisor.record`, and the vCPUs they held per compute environment."""

    moves: list[Move] = field(default_factory=list)
    freed: dict[str, float] = field(default_factory=dict)

    def add(self, other: Ended) -> None:
        """Take ``other``'s moves and vCPUs too."""
        self.moves.extend(other.moves)
        for ce, vcpus in other.freed.items():
            self.freed[ce] = self.freed.get(ce, 0.0) + vcpus


class Supervisor:
    """Runs placed jobs as processes and turns their outcomes into job statuses."""

    def __init__(
        self,
        service: BatchService,
        runner: Runner,
        log_sink: LogSink,
        job_env: JobEnvironment,
        clock: Clock,
        kill_grace: float = 30.0,
        stop_grace: float = 5.0,
    ) -> None:
        self.service = service
        self.runner = runner
        self.log_sink = log_sink
        self.job_env = job_env
        self.clock = clock
        self.kill_grace = kill_grace
        self.stop_grace = stop_grace
        self._running: dict[str, Running] = {}
        #: Moves collected while reaping, committed together.
        self._pending: list[Move] | None = None
        self._stopping = False
        #: Attempts being started: job id → the job, its launch and the start.
        self._starting: dict[str, tuple[Job, Launch, Future[Handle]]] = {}

    @property
    def running(self) -> list[str]:
        """Ids of the jobs whose processes this supervisor watches or is starting."""
        return [*self._running, *self._starting]

    @property
    def starting(self) -> bool:
        """Whether some attempt is being started (its RUNNING move not recorded yet)."""
        return bool(self._starting)

    def _now(self) -> int:
        return epoch_ms(self.clock)

    def tick(self) -> int:
        """Reap ended attempts, enforce timeouts, start placed jobs; return how many jobs moved."""
        return self.reap() + self.launch()

    # -- starting ------------------------------------------------------------------

    def launch(self) -> int:
        """Start every STARTING job not started yet; return how many moved.

        The processes start first; their RUNNING moves are then committed together.
        """
        self.spawn_placed()
        failed, started = self.take_started(wait=True)
        return failed + self.record(started)

    def spawn_placed(self, placed: Sequence[Job] | None = None) -> int:
        """Begin starting the processes of STARTING jobs not started yet; return how many.

        ``placed``: those jobs, as the scheduler just placed them (committed), instead of
        reading them from the store. :meth:`take_started` hands over the ones started
        since, for :meth:`record`.
        """
        if self._stopping:
            return 0
        busy = self._running.keys() | self._starting.keys()  # not decoded again
        if placed is not None:
            new = [job for job in placed if job.id not in busy]
        elif store.any_in(self.service.db.conn, [S.STARTING]):
            new = store.list_jobs(self.service.db.conn, statuses=[S.STARTING], exclude=busy)
        else:
            return 0
        for job in new:
            launch = self._launch(job)
            self._starting[job.id] = (job, launch, self._begin(launch))
        return len(new)

    def take_started(self, wait: bool = False) -> tuple[int, list[Running]]:
        """The attempts whose start ended (all of them, once started, with ``wait``).

        Returns how many could not start (recorded) and the started ones, now watched: an
        exit may be recorded with the RUNNING move.
        """
        failed, started = 0, []
        for job_id, (job, launch, start) in list(self._starting.items()):
            if not (wait or start.done()):
                continue
            del self._starting[job_id]
            try:
                result: Handle | CannotStart = start.result()
            except CannotStart as exc:
                result = exc
            run = self._spawned(job, launch, result)
            if isinstance(run, Running):
                self._running[job_id] = run
                started.append(run)
            else:
                failed += run
        return failed, started

    def record(self, started: Sequence[Running] = (), ended: Ended | None = None) -> int:
        """Open the started attempts' log streams, move them RUNNING and write ``ended``'s
        outcomes (from :meth:`collect`), in one transaction; return how many moves took.

        An attempt that started and ended since the last write is one move through RUNNING:
        both events are written, the job's row once.
        """
        outcomes = {m.job_id: m for m in ended.moves} if ended is not None else {}
        if not (started or outcomes):
            return 0
        moves = [self._started_move(run, outcomes.pop(run.job.id, None)) for run in started]
        with self.service.db.transaction():
            for run in started:
                self._open_stream(run.log_stream)
            recorded = self.service.transition_many([*moves, *outcomes.values()])
        for run, move, took in zip(started, moves, recorded, strict=False):
            if not took and move.via is None:  # moved meanwhile (terminated): do not run it
                self._running.pop(run.job.id, None)
                run.handle.kill(signal.SIGKILL)
                wait(run.handle, timeout=3.0)
        return sum(recorded)

    @staticmethod
    def _started_move(run: Running, outcome: Move | None) -> Move:
        """STARTING → RUNNING for a started attempt; through RUNNING to ``outcome`` if it has ended."""
        fields: dict[str, object] = {
            "started_at": run.started_at,
            "log_stream_name": run.log_stream,
            "pgid": run.handle.pgid,
            "exit_code": None,
            "container_reason": None,
        }
        if outcome is None:
            return Move(run.job.id, (S.STARTING,), S.RUNNING, None, fields)
        return Move(
            run.job.id,
            (S.STARTING,),
            outcome.target,
            outcome.reason,
            {**fields, **outcome.fields},
            via=(S.RUNNING, run.started_at),
        )

    def _launch(self, job: Job) -> Launch:
        number = job.attempt_number
        stream = log_stream_name(job.definition_name, job.id, number)
        return self.job_env.launch(job, number, LOG_GROUP, stream)

    def _begin(self, launch: Launch) -> Future[Handle]:
        """Begin starting an attempt: the runner starts it while the engine goes on (only
        its secrets are fetched here); :meth:`take_started` writes the outcome."""
        try:
            start = self.runner.start(self.job_env.with_secrets(launch), self.log_sink)
        except CannotStart as exc:  # a secret that does not resolve too
            start = Future()
            start.set_exception(exc)
        return start

    def _spawned(self, job: Job, launch: Launch, result: Handle | CannotStart) -> Running | int:
        """A started attempt to watch; or, when it could not start, that recorded (and 1)."""
        if isinstance(result, CannotStart):
            self._open_stream(launch.log_stream)
            now, reason = self._now(), result.message[:255]
            attempt = Attempt(now, now, result.status_reason, None, reason, launch.log_stream)
            return self._end(job, S.STARTING, attempt, retry=True)
        return Running(job, launch.attempt, result, self._now(), launch.log_stream)

    def _open_stream(self, stream: str) -> None:
        """Create the attempt's log stream as it starts, so it is listed even before any output."""
        try:
            self.log_sink.append(LOG_GROUP, stream, [])
        except Exception:  # logs are best effort: never keep a job from starting
            logger.exception(
                "could not create log stream %s", stream, extra={"action": "log_stream"}
            )

    # -- reaping and timeouts ------------------------------------------------------

    def reap(self) -> int:
        """Record ended attempts and signal overrunning or terminated ones; return how many jobs moved."""
        return self.record(ended=self.collect())

    def collect(self) -> Ended:
        """Signal overrunning or terminated attempts; return the ended ones.

        Nothing is written: :meth:`record` does that, in the caller's transaction if any.
        """
        if self._running and self.service.stop_flagged.is_set():
            self.service.stop_flagged.clear()  # before reading: a flag set meanwhile waits
            try:
                self._poll_stop_requests()
            except BaseException:
                self.service.stop_flagged.set()  # not read: the next pass reads them again
                raise
        self._pending = []  # outcomes are recorded together: one commit per tick, not per job
        ended = Ended(self._pending)
        try:
            for job_id, run in list(self._running.items()):
                outcome = run.handle.poll()
                if outcome is None:
                    self._enforce_timeout(run)
                    continue
                del self._running[job_id]
                self._record(run, outcome)
                ce = run.job.compute_environment or ""
                ended.freed[ce] = ended.freed.get(ce, 0.0) + run.job.container.vcpus
        finally:
            self._pending = None
        return ended

    def _poll_stop_requests(self) -> None:
        """TerminateJob flags a RUNNING job in the store; signal the ones not yet signalled."""
        for job_id, reason in store.stop_requests(self.service.db.conn).items():
            run = self._running.get(job_id)
            if run is not None and run.stop_reason is None:
                logger.info("terminating job %s", job_id, extra={"action": "terminate"})
                run.stop_reason = reason or TERMINATED
                self._terminate(run, self._now())

    def _enforce_timeout(self, run: Running) -> None:
        now = self._now()
        if run.term_sent_at is None:
            timeout = run.job.timeout
            if timeout is not None and now - run.started_at >= timeout * 1000:
                logger.info("job %s timed out", run.job.id, extra={"action": "timeout"})
                run.timed_out = True
                self._terminate(run, now)
        elif not run.killed and now - run.term_sent_at >= self.kill_grace * 1000:
            run.killed = True
            run.handle.kill(signal.SIGKILL)

    def _terminate(self, run: Running, now: int) -> None:
        run.term_sent_at = now
        run.handle.kill(signal.SIGTERM)

    def _record(self, run: Running, outcome: Outcome) -> int:
        reason = run.stop_reason or (TIMED_OUT if run.timed_out else EXITED)
        attempt = Attempt(
            run.started_at, self._now(), reason, outcome.exit_code, outcome.reason, run.log_stream
        )
        if outcome.exit_code == 0 and reason == EXITED:
            return self._succeed(run.job, attempt)
        return self._end(run.job, S.RUNNING, attempt, retry=reason == EXITED)

    def _succeed(self, job: Job, attempt: Attempt) -> int:
        return self._move(
            job,
            S.RUNNING,
            S.SUCCEEDED,
            attempt.status_reason,
            attempts=(*job.attempts, attempt),
            exit_code=0,
            container_reason=attempt.reason,
            stopped_at=attempt.stopped_at,
            pgid=None,
        )

    def _end(self, job: Job, source: JobStatus, attempt: Attempt, retry: bool) -> int:
        """Record a failed attempt: back to RUNNABLE if the strategy allows, else FAILED."""
        attempts = (*job.attempts, attempt)
        if retry and should_retry(
            job.retry_strategy,
            len(attempts),
            attempt.exit_code,
            attempt.reason,
            attempt.status_reason,
        ):
            return self._move(
                job,
                source,
                S.RUNNABLE,
                attempt.status_reason,
                attempts=attempts,
                exit_code=None,
                container_reason=None,
                compute_environment=None,
                pgid=None,
            )
        return self._move(
            job,
            source,
            S.FAILED,
            attempt.status_reason,
            attempts=attempts,
            exit_code=attempt.exit_code,
            container_reason=attempt.reason,
            stopped_at=attempt.stopped_at,
            pgid=None,
        )

    def _move(
        self, job: Job, source: JobStatus, target: JobStatus, reason: str | None, **fields: object
    ) -> int:
        if self._pending is not None:
            self._pending.append(Move(job.id, (source,), target, reason, fields))
            return 1
        try:
            self.service.transition(job.id, [source], target, reason, **fields)
        except TransitionConflict as exc:
            logger.warning("job %s: %s", job.id, exc, extra={"action": "record_outcome"})
            return 0
        return 1

    # -- stopping and recovering ---------------------------------------------------

    def shutdown(self) -> int:
        """Stop every running job (SIGTERM, then SIGKILL after ``stop_grace``) and record it FAILED."""
        self._stopping = True
        now = self._now()
        for run in self._running.values():
            run.stop_reason = SERVER_STOPPED
            self._terminate(run, now)
        deadline = time.monotonic() + self.stop_grace
        while (
            any(r.handle.poll() is None for r in self._running.values())
            and time.monotonic() < deadline
        ):
            time.sleep(0.02)
        moved = 0
        for job_id, run in list(self._running.items()):
            if run.handle.poll() is None:
                run.handle.kill(signal.SIGKILL)
            outcome = wait(run.handle, timeout=3.0) or Outcome(
                None, signal.SIGKILL, "Killed by signal SIGKILL"
            )
            del self._running[job_id]
            moved += self._record(run, outcome)
        self.runner.close()
        return moved

    def recover(self) -> int:
        """At start-up: kill processes of jobs left STARTING/RUNNING by a crashed server, and settle those jobs."""
        conn = self.service.db.conn
        stranded = [
            job
            for job in store.list_jobs(conn, statuses=[S.STARTING, S.RUNNING])
            if job.id not in self._running
        ]
        if not stranded:
            return 0
        orphans.sweep({job.id: job.pgid for job in stranded})
        moved = 0
        for job in stranded:
            if job.status is S.STARTING:
                moved += self._move(
                    job, S.STARTING, S.RUNNABLE, RESTARTED_BEFORE_START, compute_environment=None
                )
                continue
            now = self._now()
            attempt = Attempt(
                job.started_at, now, SERVER_RESTARTED, None, None, job.container.log_stream_name
            )
            if job.stop_request is not None:  # terminated before the crash: never retried
                attempt = Attempt(
                    job.started_at, now, job.stop_reason, None, None, attempt.log_stream_name
                )
            moved += self._end(job, S.RUNNING, attempt, retry=job.stop_request is None)
        logger.warning(
            "settled %d jobs left in flight by a crash", moved, extra={"action": "recover"}
        )
        return moved
