"""Batch throughput of ``s3batch up``: SubmitJob calls/s and jobs/s, against a baseline from the same run.

1,000 jobs running ``true`` are submitted through one boto3 client to a queue over a
LOCAL (UNMANAGED) compute environment with 2 vCPUs (so at most 2 jobs run at once). The
baseline is 1,000 ``subprocess.run(["true"])`` in a loop on this machine, run before and
after the servers and pooled (on a shared machine one run alone swings with the load).

    python benchmarks/batch_throughput.py [--jobs 1000] [--submitters 1] [--rounds 1]

Three figures, each with its ratio to the baseline, from two fresh servers per round:

- (a) submit: SubmitJob calls/s with the compute environment DISABLED, so the jobs wait
  RUNNABLE and the engine is idle: what submitting costs, alone.
- (b) drain: the compute environment is then ENABLED (UpdateComputeEnvironment) and jobs/s
  is measured from that call to the last job's ``stoppedAt``: what scheduling and running
  cost, alone; the like-for-like comparison with the ``subprocess.run`` loop.
- (c) overlapped: a second server, the compute environment ENABLED while submitting (jobs
  run as they arrive): SubmitJob calls/s, and jobs/s from the first job's ``createdAt`` to
  the last job's ``stoppedAt`` (SUBMITTED → SUCCEEDED). Submission and execution share the
  server's CPU (and the client's machine), so (c) is bounded by the submit rate.

Targets (issue 4): SubmitJob >= 500/s, judged on (a); end to end >= 0.5x the baseline,
judged on (b). (c) is reported beside them. The server's CPU per SubmitJob in (a) and per
job in (b) (from /proc: its threads and its spawner process together, not the jobs) is
printed too: on a shared machine it moves less than the rates do. So is the client's own CPU per SubmitJob (boto3's work,
this process): one client thread cannot make more calls a second than it allows.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config

from s3batch.cli.child import ChildServer

T = TypeVar("T")

#: Seconds between DescribeJobs polls while waiting for the jobs to finish.
POLL_SECONDS = 0.2
#: The statuses a job ends in.
FINAL = ("SUCCEEDED", "FAILED")


@dataclass(frozen=True)
class Round:
    """One round's figures (per second)."""

    baseline: float
    submit: float
    drain: float
    overlapped_submit: float
    overlapped: float
    failed: list[dict[str, Any]]
    #: The server's CPU (user + system, its threads and its spawner) per SubmitJob in (a), per job in (b): ms.
    submit_cpu: float
    drain_cpu: float
    #: This process's CPU per SubmitJob in (a) (boto3's own work): ms.
    client_cpu: float


def baseline(n: int) -> float:
    """``true`` processes per second, run one after another by this process."""
    t = time.perf_counter()
    for _ in range(n):
        subprocess.run(["true"], check=True)
    return n / (time.perf_counter() - t)


def between_baselines(run: Callable[[], T], n: int = 1000) -> tuple[T, float]:
    """``run()``'s result, and the baseline run before and after it, pooled (on a shared
    machine one run alone swings with the load): 2n processes over both runs' time."""
    before = baseline(n)
    result = run()
    return result, 2 / (1 / before + 1 / baseline(n))


def client(server: ChildServer) -> Any:
    """A boto3 Batch client with the default config except retries."""
    return boto3.client(
        "batch", **server.client_kwargs(), config=Config(retries={"max_attempts": 1})
    )


@contextmanager
def running_server() -> Iterator[ChildServer]:
    """A fresh ``s3batch up`` on an empty data dir and an empty stack."""
    with tempfile.TemporaryDirectory() as tmp:
        stack = Path(tmp) / "stack.yaml"
        stack.write_text("{}\n")
        server = ChildServer(Path(tmp) / "data", extra_args=("--stack", str(stack)))
        server.start()
        try:
            yield server
        finally:
            server.stop()


def setup(batch: Any, state: str) -> None:
    """A 2-vCPU LOCAL compute environment in ``state``, a queue over it, a ``true`` job definition."""
    batch.create_compute_environment(
        computeEnvironmentName="local", type="UNMANAGED", unmanagedvCpus=2, state=state
    )
    batch.create_job_queue(
        jobQueueName="q",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "local"}],
    )
    batch.register_job_definition(
        jobDefinitionName="true", type="container", containerProperties={"command": ["true"]}
    )


def submit_all(server: ChildServer, jobs: int, submitters: int) -> tuple[float, list[str]]:
    """Submit ``jobs`` jobs from ``submitters`` threads; return calls/s and the job ids."""
    ids: list[str] = []
    share = [jobs // submitters + (1 if i < jobs % submitters else 0) for i in range(submitters)]
    clients = [client(server) for _ in range(submitters)]

    def work(batch: Any, count: int) -> None:
        for i in range(count):
            ids.append(
                batch.submit_job(jobName=f"t{i}", jobQueue="q", jobDefinition="true")["jobId"]
            )

    threads = [
        threading.Thread(target=work, args=(c, n)) for c, n in zip(clients, share, strict=True)
    ]
    t = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return jobs / (time.perf_counter() - t), ids


def describe_all(batch: Any, ids: list[str]) -> list[dict[str, Any]]:
    """Every job's detail, 100 ids per DescribeJobs call."""
    return [
        j
        for i in range(0, len(ids), 100)
        for j in batch.describe_jobs(jobs=ids[i : i + 100])["jobs"]
    ]


def wait_done(batch: Any, ids: list[str], timeout: float = 600) -> list[dict[str, Any]]:
    """Every job's detail once none is left unfinished.

    The queue is FIFO, so the last job submitted is (about) the last to end: only it is
    polled, and the others are described once it has ended. Describing every unfinished
    job on each poll would compete with the engine being measured (the figures come from
    the server's timestamps, not from when the poller noticed).
    """
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, "jobs unfinished"
        if batch.describe_jobs(jobs=ids[-1:])["jobs"][0]["status"] in FINAL:
            jobs = describe_all(batch, ids)
            if all(j["status"] in FINAL for j in jobs):
                return jobs
        time.sleep(POLL_SECONDS)


def own_cpu_seconds() -> float:
    """This process's CPU time so far (user + system)."""
    t = os.times()
    return t.user + t.system


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system, all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds(pid: int) -> float:
    """The CPU time so far of a process's live children (the server's spawner, the helper
    process that starts and reaps the jobs; not the jobs' own CPU)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                total += cpu_seconds(int(stat.parent.name))
        except (OSError, ValueError):
            continue  # gone meanwhile
    return total


def server_cpu_seconds(pid: int) -> float:
    """The server's CPU time so far, its spawner's included."""
    return cpu_seconds(pid) + children_cpu_seconds(pid)


def submit_then_drain(
    jobs: int, submitters: int
) -> tuple[float, float, list[dict[str, Any]], float, float, float]:
    """(a) and (b): submit with the compute environment DISABLED, then enable it and time the drain.

    Also the server's CPU in ms per call of (a) and per job of (b) (the drain's includes
    the benchmark's polls, a few calls a second): a steadier figure than rates on a
    shared machine; and the client's CPU per call of (a), boto3's share.
    """
    with running_server() as server:
        batch = client(server)
        setup(batch, "DISABLED")
        assert server.proc is not None
        pid = server.proc.pid
        before, own = server_cpu_seconds(pid), own_cpu_seconds()
        submit_rate, ids = submit_all(server, jobs, submitters)
        submitted, client_ms = server_cpu_seconds(pid), (own_cpu_seconds() - own) * 1000 / jobs
        enabled_ms = time.time() * 1000  # the server stamps with the same wall clock
        batch.update_compute_environment(computeEnvironment="local", state="ENABLED")
        done = wait_done(batch, ids)
        drained = server_cpu_seconds(pid)
    span_ms = max(j["stoppedAt"] for j in done) - enabled_ms
    per_call, per_job = (submitted - before) * 1000 / jobs, (drained - submitted) * 1000 / jobs
    return submit_rate, len(done) / (span_ms / 1000), done, per_call, per_job, client_ms


def overlapped(jobs: int, submitters: int) -> tuple[float, float, list[dict[str, Any]]]:
    """(c): submit with the compute environment ENABLED; jobs/s from first createdAt to last stoppedAt."""
    with running_server() as server:
        batch = client(server)
        setup(batch, "ENABLED")
        submit_rate, ids = submit_all(server, jobs, submitters)
        done = wait_done(batch, ids)
    span_ms = max(j["stoppedAt"] for j in done) - min(j["createdAt"] for j in done)
    return submit_rate, len(done) / (span_ms / 1000), done


def one_round(jobs: int, submitters: int) -> Round:
    """The baseline, (a)+(b) on one server and (c) on another, the baseline again."""
    before = baseline(jobs)
    submit, drain, drained, submit_cpu, drain_cpu, client_cpu = submit_then_drain(jobs, submitters)
    o_submit, o_rate, o_done = overlapped(jobs, submitters)
    after = baseline(jobs)
    failed = [j for j in drained + o_done if j["status"] != "SUCCEEDED"]
    print(f"baseline before and after: {before:.1f}/s, {after:.1f}/s")
    pooled = 2 / (1 / before + 1 / after)  # 2n processes over both runs' time
    return Round(pooled, submit, drain, o_submit, o_rate, failed, submit_cpu, drain_cpu, client_cpu)


def report(r: Round, submitters: int) -> None:
    """Print one round's figures, each with its ratio to the baseline."""
    b = r.baseline
    print(f"baseline:                  {b:7.1f} subprocess.run(['true'])/s")
    print(
        f"(a) submit, CE DISABLED:   {r.submit:7.1f} SubmitJob/s = {r.submit / b:.2f}x baseline"
        f" ({submitters} client thread(s)); target >= 500/s"
    )
    print(
        f"(b) drain, CE ENABLED:     {r.drain:7.1f} jobs/s RUNNABLE->SUCCEEDED"
        f" = {r.drain / b:.2f}x baseline; target >= 0.5x"
    )
    print(
        f"server CPU:                {r.submit_cpu:7.2f} ms per SubmitJob in (a),"
        f" {r.drain_cpu:.2f} ms per job in (b)"
    )
    print(
        f"client CPU:                {r.client_cpu:7.2f} ms per SubmitJob in (a) (boto3:"
        f" one client thread makes at most {1000 / r.client_cpu:.0f} calls/s on this machine)"
    )
    print(
        f"(c) overlapped, submit:    {r.overlapped_submit:7.1f} SubmitJob/s"
        f" = {r.overlapped_submit / b:.2f}x baseline (jobs running meanwhile)"
    )
    print(
        f"(c) overlapped, end to end:{r.overlapped:7.1f} jobs/s SUBMITTED->SUCCEEDED"
        f" = {r.overlapped / b:.2f}x baseline"
    )
    if r.failed:
        print(f"{len(r.failed)} jobs FAILED, e.g. {r.failed[0].get('statusReason')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--submitters", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    for n in range(args.rounds):
        if args.rounds > 1:
            print(f"-- round {n + 1}")
        report(one_round(args.jobs, args.submitters), args.submitters)


if __name__ == "__main__":
    main()
