"""The job status machine as data: which move is allowed from which status."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    """An AWS Batch job status."""

    SUBMITTED = "SUBMITTED"
    PENDING = "PENDING"
    RUNNABLE = "RUNNABLE"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


S = JobStatus

#: Allowed moves. A job without unfinished dependencies goes SUBMITTED → RUNNABLE directly
#: (PENDING is for jobs that wait on others). A failed attempt with retries left goes
#: RUNNING → RUNNABLE; STARTING → RUNNABLE puts back a job whose process never started
#: (server restart). Every non-terminal status may fail (cancel, misconfiguration, crash).
#: PENDING → SUCCEEDED is an array parent's, once all its children succeeded.
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    S.SUBMITTED: frozenset({S.PENDING, S.RUNNABLE, S.FAILED}),
    S.PENDING: frozenset({S.RUNNABLE, S.SUCCEEDED, S.FAILED}),
    S.RUNNABLE: frozenset({S.STARTING, S.FAILED}),
    S.STARTING: frozenset({S.RUNNING, S.RUNNABLE, S.FAILED}),
    S.RUNNING: frozenset({S.SUCCEEDED, S.FAILED, S.RUNNABLE}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
}

#: Statuses a job never leaves.
TERMINAL: frozenset[JobStatus] = frozenset({S.SUCCEEDED, S.FAILED})

#: Statuses waiting for the scheduler.
QUEUED: frozenset[JobStatus] = frozenset({S.SUBMITTED, S.PENDING, S.RUNNABLE})

#: Statuses that hold compute environment capacity.
ACTIVE: frozenset[JobStatus] = frozenset({S.STARTING, S.RUNNING})


def allowed(source: JobStatus, target: JobStatus) -> bool:
    """Whether the machine allows moving from ``source`` to ``target``."""
    return target in TRANSITIONS[source]
