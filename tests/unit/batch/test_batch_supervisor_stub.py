"""The supervisor's bookkeeping, driven by the stub runner (no processes)."""

from __future__ import annotations

import signal
import time
from concurrent.futures import Future

import pytest
from batch_helpers import add_ce, add_definition, add_queue, submit

from s3batch.batch.engine import BatchEngine
from s3batch.batch.errors import FAILED_TO_START, CannotStart
from s3batch.batch.runner import JobEnvironment, Launch, LogSink
from s3batch.batch.service import BatchService
from s3batch.batch.status import JobStatus
from s3batch.batch.stub import StubHandle, StubRunner
from s3batch.batch.supervisor import (
    RESTARTED_BEFORE_START,
    SERVER_RESTARTED,
    SERVER_STOPPED,
    TIMED_OUT,
    Supervisor,
)
from s3batch.clock import FakeClock

S = JobStatus
ENV = JobEnvironment("http://127.0.0.1:4566", "AKID", "SECRET", "us-east-1")


class Sink:
    """A log sink that remembers what it was given."""

    def __init__(self) -> None:
        self.streams: dict[tuple[str, str], list[tuple[int, str]]] = {}

    def append(self, group: str, stream: str, events: list[tuple[int, str]]) -> None:
        self.streams.setdefault((group, stream), []).extend(events)


@pytest.fixture(autouse=True)
def _stack(service: BatchService) -> None:
    add_ce(service, "ce", 4)
    add_queue(service, "q", 1, "ce")


def _engine(
    service: BatchService, clock: FakeClock, runner: StubRunner, sink: Sink | None = None
) -> BatchEngine:
    return BatchEngine(service, runner, sink or Sink(), ENV, clock, kill_grace=10)


def _run(engine: BatchEngine, ticks: int = 6) -> None:
    for _ in range(ticks):
        engine.tick()


def test_exit_zero_succeeds_with_one_attempt(service: BatchService, clock: FakeClock) -> None:
    add_definition(service)
    sink = Sink()
    engine = _engine(service, clock, StubRunner(lambda launch: (0, ["hi"])), sink)
    job = submit(service)
    _run(engine)
    done = service.job(job.id)
    assert done.status is S.SUCCEEDED
    assert done.status_reason == "Essential container in task exited"
    assert done.container.exit_code == 0
    assert done.container.log_stream_name == f"work/default/{job.id}"
    assert len(done.attempts) == 1 and done.attempts[0].exit_code == 0
    assert sink.streams[("/aws/batch/job", f"work/default/{job.id}")] == [(0, "hi")]
    assert [e.to_status for e in service.job_events(job.id)] == [
        S.SUBMITTED,
        S.RUNNABLE,
        S.STARTING,
        S.RUNNING,
        S.SUCCEEDED,
    ]


def test_failures_are_retried_then_fail_with_each_attempt_recorded(
    service: BatchService, clock: FakeClock
) -> None:
    add_definition(service, attempts=3)
    runner = StubRunner(lambda launch: (2, []))
    engine = _engine(service, clock, runner)
    job = submit(service)
    _run(engine, 12)
    done = service.job(job.id)
    assert done.status is S.FAILED
    assert done.container.exit_code == 2
    assert [a.exit_code for a in done.attempts] == [2, 2, 2]
    assert [launch.attempt for launch in runner.launches] == [1, 2, 3]
    assert [launch.log_stream for launch in runner.launches] == [
        f"work/default/{job.id}",
        f"work/default/{job.id}-2",
        f"work/default/{job.id}-3",
    ]
    assert [launch.env["AWS_BATCH_JOB_ATTEMPT"] for launch in runner.launches] == ["1", "2", "3"]
    assert [e.to_status for e in service.job_events(job.id)].count(S.RUNNABLE) == 3


def test_evaluate_on_exit_can_stop_retries(service: BatchService, clock: FakeClock) -> None:
    add_definition(
        service,
        retryStrategy={"attempts": 5, "evaluateOnExit": [{"action": "EXIT", "onExitCode": "7"}]},
    )
    engine = _engine(service, clock, StubRunner(lambda launch: (7, [])))
    job = submit(service)
    _run(engine, 12)
    assert len(service.job(job.id).attempts) == 1


def test_a_start_failure_is_a_failed_attempt(service: BatchService, clock: FakeClock) -> None:
    add_definition(service)

    def refuse(launch: Launch) -> tuple[int, list[str]]:
        raise CannotStart(
            'CannotStartContainerError: exec: "x": executable file not found in $PATH'
        )

    engine = _engine(service, clock, StubRunner(refuse))
    job = submit(service)
    _run(engine)
    done = service.job(job.id)
    assert (done.status, done.status_reason) == (S.FAILED, FAILED_TO_START)
    assert done.container.reason is not None and done.container.reason.startswith(
        "CannotStartContainerError"
    )
    assert done.container.exit_code is None
    assert len(done.attempts) == 1


def test_timeout_sends_sigterm_then_sigkill_and_is_not_retried(
    service: BatchService, clock: FakeClock
) -> None:
    add_definition(service, attempts=3, timeout=60)
    runner = StubRunner(hold=True)
    engine = _engine(service, clock, runner)
    job = submit(service)
    _run(engine)
    handle = runner.handles[job.id]
    handle.kill = handle.signals.append  # type: ignore[method-assign]  # a process that ignores signals
    clock.advance(59)
    _run(engine)
    assert handle.signals == []
    clock.advance(1)
    _run(engine)
    assert handle.signals == [signal.SIGTERM]
    clock.advance(10)
    _run(engine)
    assert handle.signals == [signal.SIGTERM, signal.SIGKILL]
    handle.end(137)
    _run(engine)
    done = service.job(job.id)
    assert (done.status, done.status_reason, done.container.exit_code) == (S.FAILED, TIMED_OUT, 137)
    assert len(done.attempts) == 1


def test_shutdown_fails_running_jobs(service: BatchService, clock: FakeClock) -> None:
    add_definition(service, attempts=3)
    runner = StubRunner(hold=True)
    engine = _engine(service, clock, runner)
    job = submit(service)
    _run(engine)
    assert service.job(job.id).status is S.RUNNING
    engine.supervisor.stop_grace = 0.1
    assert engine.supervisor.shutdown() == 1
    done = service.job(job.id)
    assert (done.status, done.status_reason) == (S.FAILED, SERVER_STOPPED)
    assert runner.handles[job.id].signals[0] == signal.SIGTERM
    assert done.container.exit_code == 128 + signal.SIGTERM
    assert engine.supervisor.launch() == 0  # a stopped supervisor starts nothing new


def test_recover_settles_jobs_a_crash_left_in_flight(
    service: BatchService, clock: FakeClock
) -> None:
    add_definition(service, attempts=2)
    runner = StubRunner(hold=True)
    crashed = _engine(service, clock, runner)
    last = submit(service, name="last")
    _run(crashed)
    runner.finish(last.id, 1)  # the first attempt fails: one attempt left
    _run(crashed)
    assert service.job(last.id).attempt_number == 2
    retried = submit(service, name="retried")
    _run(crashed)
    placed = submit(service, name="placed")
    crashed.scheduler.tick()
    assert [service.job(j.id).status for j in (last, retried, placed)] == [
        S.RUNNING,
        S.RUNNING,
        S.STARTING,
    ]

    fresh = Supervisor(service, StubRunner(), Sink(), ENV, clock)
    assert fresh.recover() == 3
    again = service.job(retried.id)
    assert (again.status, again.status_reason, len(again.attempts)) == (
        S.RUNNABLE,
        SERVER_RESTARTED,
        1,
    )
    assert again.compute_environment is None
    gave_up = service.job(last.id)
    assert (gave_up.status, gave_up.status_reason, len(gave_up.attempts)) == (
        S.FAILED,
        SERVER_RESTARTED,
        2,
    )
    put_back = service.job(placed.id)
    assert (put_back.status, put_back.status_reason, put_back.attempts) == (
        S.RUNNABLE,
        RESTARTED_BEFORE_START,
        (),
    )
    assert fresh.recover() == 0


class _SlowStarts(StubRunner):
    """Starts that end later, as the spawner's do: each when :meth:`release` is called."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[tuple[Future[StubHandle], StubHandle]] = []

    def start(self, launch: Launch, sink: LogSink) -> Future[StubHandle]:
        handle = super().start(launch, sink).result()
        later: Future[StubHandle] = Future()
        self.pending.append((later, handle))
        return later

    def release(self) -> None:
        for later, handle in self.pending:
            later.set_result(handle)
        self.pending.clear()


def test_starts_that_end_after_the_pass_are_recorded_running_then_succeeded(
    service: BatchService, clock: FakeClock
) -> None:
    add_definition(service)
    runner = _SlowStarts()
    engine = BatchEngine(service, runner, Sink(), ENV, clock)
    jobs = [submit(service, name=f"j{i}") for i in range(3)]
    engine.tick()  # places and begins starting them
    assert len(runner.pending) == 3 and engine.supervisor.starting
    engine.tick()  # nothing started yet: still STARTING
    assert all(service.job(job.id).status is S.STARTING for job in jobs)
    runner.release()
    engine.tick()
    for job in jobs:
        assert [e.to_status for e in service.job_events(job.id)] == [
            S.SUBMITTED,
            S.RUNNABLE,
            S.STARTING,
            S.RUNNING,
            S.SUCCEEDED,
        ]
    engine.stop()


def test_running_is_written_with_the_outcomes_once_the_window_has_passed(
    service: BatchService, clock: FakeClock
) -> None:
    # The server's engine holds RUNNING moves for one window (10 ms) to share a commit
    # with outcomes; a job that runs on alone must still show RUNNING after that window.
    add_definition(service)
    runner = StubRunner(hold=True)
    engine = BatchEngine(service, runner, Sink(), ENV, clock, window=0.2)
    job = submit(service)
    engine.tick()  # places and starts it
    engine.tick()  # takes the start: RUNNING is held, not written
    held_at = time.monotonic()
    assert service.job(job.id).status is S.STARTING
    while service.job(job.id).status is S.STARTING:
        assert time.monotonic() - held_at < 5, "RUNNING never written"
        engine.tick()
        time.sleep(0.01)
    assert service.job(job.id).status is S.RUNNING
    assert time.monotonic() - held_at >= 0.15
    runner.finish(job.id)
    while service.job(job.id).status is S.RUNNING:
        assert time.monotonic() - held_at < 5, "the outcome never written"
        engine.tick()
        time.sleep(0.01)
    assert service.job(job.id).status is S.SUCCEEDED
    engine.stop()
