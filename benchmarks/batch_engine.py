"""The Batch engine alone: how fast it drains a queue, with job processes and without.

Runs the engine of ``s3batch up`` in this process, without the HTTP API: ``--jobs`` jobs
are submitted straight to the Batch service onto a queue over a DISABLED LOCAL compute
environment with 2 vCPUs, then the compute environment is enabled and jobs/s is measured
from then to the last job's ``stoppedAt``. Twice per round:

- ``true`` processes, started and reaped as ``s3batch up`` does (``ProcessRunner`` and its
  spawner process, the same commit window);
- no process: ``StubRunner``'s attempts end as soon as they start, so what is left is the
  engine's own work (scheduling passes, status moves and their commits, log streams).

The difference is what starting, watching and reaping the processes costs. The baseline
is 1,000 ``subprocess.run(["true"])`` in a loop, before and after, pooled, as in
``batch_throughput.py``. Also printed: the engine thread's CPU and the whole process's CPU
(its spawner's included, not the jobs') per job. Not a test: run it by hand.

    python benchmarks/batch_engine.py [--jobs 1500] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from batch_throughput import between_baselines, children_cpu_seconds

from s3batch.batch import store
from s3batch.batch.engine import WINDOW, BatchEngine
from s3batch.batch.models import JobStatus
from s3batch.batch.runner import JobEnvironment, ProcessRunner, Runner
from s3batch.batch.service import BatchService
from s3batch.batch.stub import StubRunner
from s3batch.clock import SystemClock
from s3batch.logs.service import Logs
from s3batch.state.db import Database

REGION, ACCOUNT = "us-east-1", "123456789012"
UNFINISHED = [JobStatus.SUBMITTED, JobStatus.PENDING, JobStatus.RUNNABLE, JobStatus.STARTING,
              JobStatus.RUNNING]  # fmt: skip


@dataclass(frozen=True)
class Drain:
    """One drain: jobs/s, and CPU ms per job of the engine thread and of this process."""

    rate: float
    engine_ms: float
    process_ms: float


def thread_cpu(native_id: int) -> float:
    """A thread of this process: its CPU seconds so far (user + system), from /proc."""
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_seconds() -> float:
    """This process's CPU so far, its spawner's (the helper process running the jobs) included."""
    return time.process_time() + children_cpu_seconds(os.getpid())


def drain(jobs: int, runner: Runner) -> Drain:
    """Submit ``jobs`` ``true`` jobs to a disabled compute environment, enable it, time the drain."""
    with tempfile.TemporaryDirectory() as tmp:
        db, clock = Database(Path(tmp) / "state.db"), SystemClock()
        try:
            return _drain(jobs, runner, db, clock)
        finally:
            db.close()


def _drain(jobs: int, runner: Runner, db: Database, clock: SystemClock) -> Drain:
    batch = BatchService(db, clock, REGION, ACCOUNT)
    batch.create_compute_environment(
        {"computeEnvironmentName": "local", "type": "UNMANAGED", "unmanagedvCpus": 2,
         "state": "DISABLED"}
    )  # fmt: skip
    batch.create_job_queue(
        {"jobQueueName": "q", "priority": 1,
         "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "local"}]}
    )  # fmt: skip
    batch.register_job_definition(
        {"jobDefinitionName": "true", "type": "container",
         "containerProperties": {"command": ["true"]}}
    )  # fmt: skip
    request = {"jobName": "t", "jobQueue": "q", "jobDefinition": "true"}
    ids = [batch.submit_job(request).id for _ in range(jobs)]
    env = JobEnvironment("http://127.0.0.1:9", "key", "secret", REGION,
                         base={"PATH": os.environ.get("PATH", os.defpath)})  # fmt: skip
    logs = Logs(db, clock, REGION, ACCOUNT)
    engine = BatchEngine(batch, runner, logs, env, clock, window=WINDOW)
    engine.start()
    try:
        # The passes release the jobs to RUNNABLE first: not part of the drain.
        _until(lambda: not store.any_in(db.conn, UNFINISHED[:2]))
        assert engine._thread is not None and engine._thread.native_id is not None
        tid = engine._thread.native_id
        engine_cpu, process_cpu = thread_cpu(tid), process_seconds()
        enabled_ms = clock.now().timestamp() * 1000
        batch.update_compute_environment({"computeEnvironment": "local", "state": "ENABLED"})
        engine.wake()
        _until(lambda: not store.any_in(db.conn, UNFINISHED))
        engine_cpu, process_cpu = thread_cpu(tid) - engine_cpu, process_seconds() - process_cpu
    finally:
        engine.stop()
    done = batch.describe_jobs(ids)
    failed = [j for j in done if j.status is not JobStatus.SUCCEEDED]
    if failed:
        raise SystemExit(f"{len(failed)} jobs did not succeed: {failed[0].status_reason}")
    span_ms = max(j.stopped_at or 0 for j in done) - enabled_ms
    return Drain(jobs / (span_ms / 1000), engine_cpu * 1000 / jobs, process_cpu * 1000 / jobs)


def _until(done: Callable[[], bool], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit("jobs unfinished")
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    for n in range(args.rounds):
        runs, pooled = between_baselines(
            lambda: {
                "true processes": drain(args.jobs, ProcessRunner(SystemClock())),
                "no process (stub)": drain(args.jobs, StubRunner()),
            }
        )
        print(f"-- round {n + 1}: baseline {pooled:.0f} subprocess.run(['true'])/s")
        for name, d in runs.items():
            print(
                f"{name:18} {d.rate:6.0f} jobs/s = {d.rate / pooled:.2f}x baseline;"
                f" engine thread {d.engine_ms:.2f} ms CPU/job, process {d.process_ms:.2f} ms"
            )


if __name__ == "__main__":
    main()
