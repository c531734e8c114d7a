"""The job spawner alone: how fast it runs ``true`` jobs two at a time, with no engine.

Starts the spawner of ``s3batch up`` (``python -m s3batch.batch.spawner``) and drives it
from this process over its pipe, keeping two jobs running as the engine would with a
2-vCPU compute environment: each "ended" report starts the next job at once. What is
left is the spawner's own work per job (spawn, pipes, pidfd, reaping, reports) and the
jobs themselves: the ceiling of the drain in ``batch_throughput.py`` if scheduling and
recording cost nothing. The baseline is ``subprocess.run(["true"])`` in a loop, before
and after, pooled, as there. Not a test: run it by hand.

    python benchmarks/spawner_alone.py [--jobs 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from batch_throughput import between_baselines, cpu_seconds

from s3batch.batch.spawner import Frames, frame

#: Jobs running at once (a 2-vCPU compute environment of 1-vCPU jobs).
SLOTS = 2


def drive(jobs: int) -> tuple[float, float]:
    """Run ``jobs`` ``true`` jobs through a fresh spawner; return jobs/s and its CPU ms per job."""
    spawner = subprocess.Popen(
        [sys.executable, "-P", "-m", "s3batch.batch.spawner"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert spawner.stdin is not None and spawner.stdout is not None
    commands, env = spawner.stdin, dict(os.environ)
    started = ended = 0

    def start() -> None:
        nonlocal started
        started += 1
        commands.write(frame(("start", started, ["true"], env, None)))
        commands.flush()

    frames, fd = Frames(), spawner.stdout.fileno()
    cpu, t = cpu_seconds(spawner.pid), time.perf_counter()
    for _ in range(min(SLOTS, jobs)):
        start()
    while ended < jobs:
        for message in frames.feed(os.read(fd, 65536)):
            if message[0] == "failed":
                raise SystemExit(f"a job did not start: {message[2]}")
            if message[0] == "ended":
                ended += 1
                if started < jobs:
                    start()
    rate = jobs / (time.perf_counter() - t)
    cpu_ms = (cpu_seconds(spawner.pid) - cpu) * 1000 / jobs
    commands.close()
    spawner.wait()
    return rate, cpu_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for n in range(args.rounds):
        (rate, cpu_ms), pooled = between_baselines(lambda: drive(args.jobs))
        print(
            f"round {n + 1}: baseline {pooled:.0f} subprocess.run(['true'])/s;"
            f" spawner alone {rate:.0f} jobs/s = {rate / pooled:.2f}x,"
            f" {cpu_ms:.2f} ms of its CPU per job"
        )


if __name__ == "__main__":
    main()
