"""The supervisor with real processes: exits, retries, environment, start failures, timeouts, shutdown, recovery."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from batch_helpers import PYTHON, add_ce, add_definition, add_queue, eventually, submit

from s3batch.batch.engine import BatchEngine
from s3batch.batch.errors import FAILED_TO_START
from s3batch.batch.models import Job
from s3batch.batch.runner import JobEnvironment, Launch, ProcessRunner, wait
from s3batch.batch.service import BatchService
from s3batch.batch.status import TERMINAL, JobStatus
from s3batch.batch.supervisor import (
    LOG_GROUP,
    SERVER_RESTARTED,
    SERVER_STOPPED,
    TIMED_OUT,
    Supervisor,
)
from s3batch.clock import FakeClock
from s3batch.logs.service import Logs

S = JobStatus
ENDPOINT = "http://127.0.0.1:4566"


@pytest.fixture
def logs(service: BatchService, clock: FakeClock) -> Logs:
    return Logs(service.db, clock)


@pytest.fixture
def job_env(tmp_path: Path) -> JobEnvironment:
    return JobEnvironment(
        ENDPOINT,
        "AKIDLOCAL",
        "secret",
        "eu-west-1",
        path=(str(tmp_path / "bin"),),
        base={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        workdir=tmp_path,
    )


@pytest.fixture
def engine(service: BatchService, logs: Logs, job_env: JobEnvironment, clock: FakeClock):  # type: ignore[no-untyped-def]
    add_ce(service, "local-ce", 4)
    add_queue(service, "q", 1, "local-ce")
    engine = BatchEngine(
        service, ProcessRunner(clock), logs, job_env, clock, kill_grace=2, stop_grace=1
    )
    yield engine
    engine.supervisor.shutdown()


def _python(code: str) -> list[str]:
    return [PYTHON, "-u", "-c", code]


def _until(engine: BatchEngine, done: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out waiting"
        engine.tick()
        time.sleep(0.01)


def _finished(engine: BatchEngine, service: BatchService, job: Job) -> Job:
    _until(engine, lambda: service.job(job.id).status in TERMINAL)
    return service.job(job.id)


def _messages(logs: Logs, stream: str | None) -> list[str]:
    assert stream is not None
    return [e.message for e in logs.get_log_events(LOG_GROUP, stream).events]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie nobody reaped yet is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def test_exit_zero_succeeds_with_output_in_the_log_stream_in_order(
    service: BatchService, engine: BatchEngine, logs: Logs
) -> None:
    code = "import sys\nfor i in range(3):\n    print('out', i)\n    print('err', i, file=sys.stderr)\nprint('no newline', end='')"
    add_definition(service, command=_python(code))
    job = _finished(engine, service, submit(service))
    assert (job.status, job.container.exit_code) == (S.SUCCEEDED, 0)
    assert job.container.log_stream_name == f"work/default/{job.id}"
    assert job.started_at is not None and job.stopped_at is not None
    messages = _messages(logs, job.container.log_stream_name)
    # Each pipe keeps its order; lines of stdout and stderr read together may interleave either way.
    assert [m for m in messages if m.startswith("out")] == ["out 0", "out 1", "out 2"]
    assert [m for m in messages if m.startswith("err")] == ["err 0", "err 1", "err 2"]
    assert sorted(messages) == sorted(
        ["out 0", "out 1", "out 2", "err 0", "err 1", "err 2", "no newline"]
    )


def test_output_is_stored_while_the_job_runs(
    service: BatchService, engine: BatchEngine, logs: Logs, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    code = f"import os, time\nprint('early')\nwhile not os.path.exists({str(gate)!r}):\n    time.sleep(0.01)\nprint('late')"
    add_definition(service, command=_python(code))
    job = submit(service)
    stream = f"work/default/{job.id}"
    _until(
        engine,
        lambda: service.job(job.id).status is S.RUNNING and _messages(logs, stream) == ["early"],
    )
    gate.touch()
    assert _finished(engine, service, job).status is S.SUCCEEDED
    assert _messages(logs, stream) == ["early", "late"]


def test_non_zero_exit_is_retried_then_fails_with_every_attempt(
    service: BatchService, engine: BatchEngine, logs: Logs
) -> None:
    code = "import os, sys\nprint('attempt', os.environ['AWS_BATCH_JOB_ATTEMPT'])\nsys.exit(3)"
    add_definition(service, command=_python(code), attempts=2)
    job = _finished(engine, service, submit(service))
    assert (job.status, job.status_reason) == (S.FAILED, "Essential container in task exited")
    assert job.container.exit_code == 3
    assert [a.exit_code for a in job.attempts] == [3, 3]
    assert [_messages(logs, a.log_stream_name) for a in job.attempts] == [
        ["attempt 1"],
        ["attempt 2"],
    ]


def test_the_job_sees_the_aws_batch_environment(
    service: BatchService, engine: BatchEngine, logs: Logs, tmp_path: Path
) -> None:
    code = "import json, os\nprint(json.dumps(dict(os.environ)))\nprint(os.getcwd())"
    add_definition(
        service,
        command=_python(code),
        containerProperties={
            "command": _python(code),
            "environment": [{"name": "FROM_DEFINITION", "value": "yes"}],
        },
    )
    job = _finished(
        engine,
        service,
        submit(service, containerOverrides={"environment": [{"name": "EXTRA", "value": "1"}]}),
    )
    lines = _messages(logs, job.container.log_stream_name)
    env = json.loads(lines[0])
    assert env["AWS_BATCH_JOB_ID"] == job.id
    assert env["AWS_BATCH_JOB_ATTEMPT"] == "1"
    assert env["AWS_BATCH_JQ_NAME"] == "q"
    assert env["AWS_BATCH_CE_NAME"] == "local-ce"
    assert "AWS_BATCH_JOB_ARRAY_INDEX" not in env
    assert env["AWS_ENDPOINT_URL"] == ENDPOINT
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("AKIDLOCAL", "secret")
    assert env["AWS_DEFAULT_REGION"] == env["AWS_REGION"] == "eu-west-1"
    assert (env["FROM_DEFINITION"], env["EXTRA"]) == ("yes", "1")
    assert env["PATH"].startswith(str(tmp_path / "bin") + os.pathsep)
    assert lines[1] == str(tmp_path)


def test_a_command_that_does_not_exist_fails_with_a_clear_reason(
    service: BatchService, engine: BatchEngine
) -> None:
    add_definition(service, command=["s3batch-no-such-command", "--x"])
    job = _finished(engine, service, submit(service))
    assert (job.status, job.status_reason) == (S.FAILED, FAILED_TO_START)
    assert job.container.reason == (
        'CannotStartContainerError: exec: "s3batch-no-such-command": executable file not found in $PATH'
    )
    assert len(job.attempts) == 1


def test_killed_by_a_signal_is_decoded(service: BatchService, engine: BatchEngine) -> None:
    add_definition(
        service, command=_python("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)")
    )
    job = _finished(engine, service, submit(service))
    assert job.status is S.FAILED
    assert (job.container.exit_code, job.container.reason) == (
        128 + signal.SIGSEGV,
        "Killed by signal SIGSEGV",
    )


_SPAWNER = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open({pids!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
{trap}
time.sleep(60)
"""


def _spawner(tmp_path: Path, trap: str = "") -> tuple[list[str], Path]:
    pids = tmp_path / "pids"
    return _python(_SPAWNER.format(pids=str(pids), trap=trap)), pids


def _pids(engine: BatchEngine, pids: Path) -> list[int]:
    _until(engine, lambda: pids.exists() and len(pids.read_text().split()) == 2)
    return [int(p) for p in pids.read_text().split()]


def test_timeout_kills_the_whole_process_group(
    service: BatchService, engine: BatchEngine, clock: FakeClock, tmp_path: Path
) -> None:
    command, pids = _spawner(tmp_path)
    add_definition(service, command=command, attempts=3, timeout=5)
    job = submit(service)
    parent, grandchild = _pids(engine, pids)
    clock.advance(5)
    job = _finished(engine, service, job)
    assert (job.status, job.status_reason) == (S.FAILED, TIMED_OUT)
    assert job.container.exit_code == 128 + signal.SIGTERM
    assert len(job.attempts) == 1  # a timed-out job is not retried
    _until(engine, lambda: not _alive(parent) and not _alive(grandchild), timeout=5)


def test_a_job_ignoring_sigterm_is_killed_after_the_grace_period(
    service: BatchService, engine: BatchEngine, clock: FakeClock, tmp_path: Path
) -> None:
    command, pids = _spawner(
        tmp_path, trap="import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)"
    )
    add_definition(service, command=command, timeout=5)
    job = submit(service)
    parent, grandchild = _pids(engine, pids)
    clock.advance(5)
    engine.tick()
    time.sleep(0.2)
    engine.tick()
    assert service.job(job.id).status is S.RUNNING and _alive(parent)
    clock.advance(2)
    job = _finished(engine, service, job)
    assert (job.status_reason, job.container.exit_code) == (TIMED_OUT, 128 + signal.SIGKILL)
    assert job.container.reason == "Killed by signal SIGKILL"
    _until(engine, lambda: not _alive(parent) and not _alive(grandchild), timeout=5)


def test_shutdown_stops_running_jobs_and_records_them_failed(
    service: BatchService, engine: BatchEngine, tmp_path: Path
) -> None:
    command, pids = _spawner(tmp_path)
    add_definition(service, command=command, attempts=3)
    job = submit(service)
    parent, grandchild = _pids(engine, pids)
    assert engine.supervisor.shutdown() == 1
    job = service.job(job.id)
    assert (job.status, job.status_reason) == (S.FAILED, SERVER_STOPPED)
    assert job.container.exit_code == 128 + signal.SIGTERM
    assert not _alive(parent)
    _until(engine, lambda: not _alive(grandchild), timeout=5)


def test_recover_kills_orphans_of_a_crashed_server_and_settles_their_jobs(
    service: BatchService,
    engine: BatchEngine,
    logs: Logs,
    job_env: JobEnvironment,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    command, pids = _spawner(tmp_path)
    add_definition(service, command=command, attempts=1)
    job = submit(service)
    parent, grandchild = _pids(engine, pids)
    # The server crashes: its supervisor is gone, the processes live on.
    restarted = Supervisor(service, ProcessRunner(clock), logs, job_env, clock)
    assert restarted.recover() == 1
    job = service.job(job.id)
    assert (job.status, job.status_reason) == (S.FAILED, SERVER_RESTARTED)
    assert job.pgid is None
    _until(engine, lambda: not _alive(parent) and not _alive(grandchild), timeout=5)


def test_engine_thread_runs_jobs_and_stops(service: BatchService, engine: BatchEngine) -> None:
    add_definition(service, command=_python("print('bg')"))
    engine.start(interval=0.01)
    try:
        job = submit(service)
        engine.wake()
        deadline = time.monotonic() + 10
        while service.job(job.id).status not in TERMINAL:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        engine.stop()
    assert service.job(job.id).status is S.SUCCEEDED


def test_engine_thread_records_every_step_of_short_jobs_in_order(
    service: BatchService, engine: BatchEngine
) -> None:
    # The loop lets a short job's RUNNING share a commit with its outcome: it must still be
    # recorded, after STARTING and before SUCCEEDED, for every job.
    add_definition(service, command=["true"])
    engine.start(interval=0.01)
    try:
        jobs = [submit(service) for _ in range(12)]
        engine.wake()
        eventually(lambda: all(service.job(j.id).status in TERMINAL for j in jobs))
    finally:
        engine.stop()
    steps = [S.SUBMITTED, S.RUNNABLE, S.STARTING, S.RUNNING, S.SUCCEEDED]
    for job in jobs:
        events = service.job_events(job.id)
        assert [e.to_status for e in events] == steps
        assert [e.at for e in events] == sorted(e.at for e in events)


def test_a_submit_wakes_an_idle_engine(service: BatchService, engine: BatchEngine) -> None:
    add_definition(service, command=["true"])
    engine.start(interval=60)  # no poll would find the job in time
    try:
        job = submit(service)
        engine.submitted()
        eventually(lambda: service.job(job.id).status in TERMINAL)
    finally:
        engine.stop()
    assert service.job(job.id).status is S.SUCCEEDED


def test_a_burst_of_submits_is_scheduled_by_held_passes_not_a_tick_each(
    service: BatchService, logs: Logs, job_env: JobEnvironment, clock: FakeClock
) -> None:
    # The compute environment is disabled during the burst, so every pass finds jobs
    # waiting and holds the next for its window; ticks come only when woken or due.
    add_ce(service, "burst-ce", 2, state="DISABLED")
    add_queue(service, "burst", 1, "burst-ce")
    add_definition(service, command=["true"])
    engine = BatchEngine(service, ProcessRunner(clock), logs, job_env, clock, window=0.5)
    ticks = 0
    has_work = engine.scheduler.has_work

    def counted() -> bool:
        nonlocal ticks
        ticks += 1
        return has_work()

    engine.scheduler.has_work = counted  # type: ignore[method-assign]
    engine.start(interval=60)
    try:
        eventually(lambda: ticks > 0)  # the start-up tick
        jobs = []
        for _ in range(30):
            jobs.append(submit(service, queue="burst"))
            engine.submitted()
            time.sleep(0.002)  # time for the engine to tick, if woken
        burst_ticks = ticks
        service.update_compute_environment({"computeEnvironment": "burst-ce", "state": "ENABLED"})
        # No wake: the pass held for the waiting jobs places them.
        eventually(lambda: all(service.job(j.id).status in TERMINAL for j in jobs))
    finally:
        engine.stop()
        engine.supervisor.shutdown()
    assert all(service.job(j.id).status is S.SUCCEEDED for j in jobs)
    assert burst_ticks <= 6, f"{burst_ticks} ticks for 30 submits"


def test_recover_finds_processes_started_just_before_a_crash_without_a_recorded_group(
    service: BatchService,
    engine: BatchEngine,
    logs: Logs,
    job_env: JobEnvironment,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    command, pids = _spawner(tmp_path)
    add_definition(service, command=command)
    job = submit(service)
    engine.scheduler.tick()
    job = service.job(job.id)
    assert job.status is S.STARTING
    # The crash came after the process started and before the job was recorded RUNNING.
    launch = Launch(job.id, 1, job.container.command, job_env.variables(job, 1), LOG_GROUP, "s")
    crashed = ProcessRunner(clock)
    orphan = crashed.start(launch, logs).result(timeout=10)
    eventually(lambda: pids.exists() and len(pids.read_text().split()) == 2)
    parent, grandchild = (int(p) for p in pids.read_text().split())
    restarted = Supervisor(service, ProcessRunner(clock), logs, job_env, clock)
    assert restarted.recover() == 1
    assert service.job(job.id).status is S.RUNNABLE
    outcome = wait(orphan, timeout=5)
    assert outcome is not None and outcome.signal == signal.SIGKILL
    assert orphan.pgid == parent  # the job's process leads its group
    eventually(lambda: not _alive(grandchild), timeout=5)
    crashed.close()


def test_a_placed_job_whose_start_failed_in_a_pass_starts_on_the_next(
    service: BatchService, engine: BatchEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The scheduler hands the jobs it placed to the supervisor; if starting them fails in
    # that pass, the next pass must find them in the store, not leave them STARTING.
    add_definition(service, command=["true"])
    engine.tick()  # the start-up pass (it looks in the store): nothing to start yet
    job = submit(service)
    original, failures = engine.supervisor._launch, [RuntimeError("no environment")]

    def launch_failing_once(placed: Job) -> Launch:
        if failures:
            raise failures.pop()
        return original(placed)

    monkeypatch.setattr(engine.supervisor, "_launch", launch_failing_once)
    with pytest.raises(RuntimeError, match="no environment"):
        _until(engine, lambda: False)  # places the job; its start fails
    assert service.job(job.id).status is S.STARTING
    assert _finished(engine, service, job).status is S.SUCCEEDED
