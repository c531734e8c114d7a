"""The scheduler: releases submitted jobs and places RUNNABLE jobs on compute environments.

A submitted job waits in PENDING until every job it ``dependsOn`` has SUCCEEDED, and
fails with ``Dependent Job failed`` as soon as one of them has FAILED. One
:meth:`Scheduler.tick` is one AWS scheduling cycle (reference/batch.md 2.1-2.3):
queues in descending priority (creation order breaks ties); within a queue, strict FIFO;
each job goes to the first compute environment in the queue's order that is ENABLED and
has the vCPUs free (maxvCpus minus what its STARTING and RUNNING jobs hold). A head job
that does not fit now blocks its queue until the next cycle, and the cycle moves on to
the next queue. A job that could never fit (more vCPUs than any of its queue's compute
environments has) fails at once with a MISCONFIGURATION reason instead of blocking the
queue forever, unless the queue has a ``jobStateTimeLimitActions`` entry for that reason:
then, as on AWS, the job stays RUNNABLE at the head with the reason as its statusReason,
and is cancelled once it has blocked the queue for ``maxTimeSeconds``.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import replace

from s3batch.batch import store
from s3batch.batch.errors import TransitionConflict
from s3batch.batch.models import ComputeEnvironment, Job, JobQueue
from s3batch.batch.registry import epoch_ms
from s3batch.batch.status import QUEUED, TERMINAL, JobStatus
from s3batch.clock import Clock
from s3batch.state.db import Database

logger = logging.getLogger(__name__)

#: How many queued jobs are read at a time when walking a queue: one at first (the head
#: usually decides the cycle), doubling up to :data:`MAX_BATCH`.
BATCH, MAX_BATCH = 1, 64
#: The statusReason code of a job no compute environment of its queue can ever hold.
TOO_BIG = "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"
#: The statusReason of a job a jobStateTimeLimitAction cancelled, before the reason code (AWS's wording).
TIME_LIMIT_CANCEL = "Canceled by JobStateTimeLimit action due to reason: "
#: The statusReason of a job whose dependency failed (AWS's wording).
DEPENDENCY_FAILED = "Dependent Job failed"
#: The statusReason of an array parent one of whose children failed (AWS's wording).
CHILD_FAILED = "Array Child Job failed"
#: Child statuses before the parent shows PENDING (it does once a child is RUNNABLE).
ARRAY_WAITING = frozenset({JobStatus.SUBMITTED, JobStatus.PENDING})


class Scheduler:
    """Moves jobs SUBMITTED → RUNNABLE → STARTING (placed on a compute environment)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        #: Whether the pass's commit is durable. A pass that is not leaves every outcome
        #: (a job it would fail or settle) to a durable one, and says so in :attr:`settling`.
        self.durable = True
        #: Whether a non-durable pass left an outcome to a durable one.
        self.settling = False
        #: The jobs the last pass placed, as they now are (STARTING on a compute environment).
        self.placed: list[Job] = []
        #: Compute environments by name and queues in scheduling order, as of a config version.
        self._config: tuple[int, dict[str, ComputeEnvironment], list[JobQueue]] | None = None

    def has_work(self) -> bool:
        """Whether some job waits for the scheduler (an index probe)."""
        return store.any_in(self.db.conn, QUEUED)

    def tick(self, freed: Mapping[str, float] | None = None) -> int:
        """Run one scheduling cycle; return how many jobs moved.

        ``freed``: vCPUs per compute environment held by attempts that have ended but whose
        outcome is not written yet (the caller writes it next): free for placing now.
        """
        return self.run(freed) if self.has_work() else 0

    def run(self, freed: Mapping[str, float] | None = None) -> int:
        """:meth:`tick` for a caller that knows some job waits (:meth:`has_work`)."""
        self.settling, self.placed = False, []
        try:
            with self.db.transaction(durable=self.durable) as conn:
                moved = self._release(conn)
                moved += self._place(conn, freed or {})
        except BaseException:
            self.placed = []  # rolled back: none of them is placed
            raise
        return moved

    def _move(
        self,
        conn: sqlite3.Connection,
        job: Job | store.Waiting,
        target: JobStatus,
        reason: str | None,
        **fields: object,
    ) -> bool:
        if target in TERMINAL and not self.durable:
            self.settling = True
            return False  # an outcome is committed durably: the next durable pass makes it
        try:
            store.transition(
                conn, job.id, [job.status], target, reason, epoch_ms(self.clock), **fields
            )
        except TransitionConflict:
            return False  # moved by someone else (cancelled, say) since it was read
        return True

    def _release(self, conn: sqlite3.Connection) -> int:
        """SUBMITTED and PENDING jobs: RUNNABLE once every dependency succeeded, FAILED when one failed."""
        waiting = store.releasable(conn)
        return sum(self._release_one(conn, job) for job in waiting)

    def _release_one(self, conn: sqlite3.Connection, job: store.Waiting) -> int:
        if job.is_array_parent:
            return self._settle_parent(conn, job)
        statuses = store.dependency_statuses(conn, job.depends_on) if job.depends_on else {}
        if any(s is JobStatus.FAILED for s in statuses.values()):
            now = epoch_ms(self.clock)
            return int(self._move(conn, job, JobStatus.FAILED, DEPENDENCY_FAILED, stopped_at=now))
        if all(s is JobStatus.SUCCEEDED for s in statuses.values()):
            return int(self._move(conn, job, JobStatus.RUNNABLE, None))
        if job.status is JobStatus.SUBMITTED:
            return int(self._move(conn, job, JobStatus.PENDING, None))
        return 0

    def _settle_parent(self, conn: sqlite3.Connection, job: store.Waiting) -> int:
        """An array parent follows its children: PENDING once one moved on, then SUCCEEDED/FAILED."""
        counts = store.array_summary(conn, job.id)
        waiting = sum(counts.get(s.value, 0) for s in ARRAY_WAITING)
        failed, succeeded = counts.get("FAILED", 0), counts.get("SUCCEEDED", 0)
        if failed + succeeded == sum(counts.values()):
            now = epoch_ms(self.clock)
            if failed:
                return int(self._move(conn, job, JobStatus.FAILED, CHILD_FAILED, stopped_at=now))
            if job.status is JobStatus.PENDING:
                return int(self._move(conn, job, JobStatus.SUCCEEDED, None, stopped_at=now))
        if job.status is JobStatus.SUBMITTED and waiting < sum(counts.values()):
            return int(self._move(conn, job, JobStatus.PENDING, None))
        return 0

    def _place(self, conn: sqlite3.Connection, freed: Mapping[str, float]) -> int:
        ces, queues = self._resources(conn)
        used = store.used_vcpus(conn)
        for name, vcpus in freed.items():
            used[name] = used.get(name, 0.0) - vcpus
        moved = 0
        for queue in queues:
            moved += self._place_queue(conn, queue, ces, used)
        return moved

    def _resources(
        self, conn: sqlite3.Connection
    ) -> tuple[dict[str, ComputeEnvironment], list[JobQueue]]:
        """The compute environments and queues: read again only when they changed."""
        version = store.config_version(conn)
        if self._config is None or self._config[0] != version:
            ces = {ce.name: ce for ce in store.list_compute_environments(conn)}
            self._config = (version, ces, store.list_job_queues(conn))
        return self._config[1], self._config[2]

    def _place_queue(
        self,
        conn: sqlite3.Connection,
        queue: JobQueue,
        ces: dict[str, ComputeEnvironment],
        used: dict[str, float],
    ) -> int:
        order = [ces[name] for name in queue.compute_environments if name in ces]
        if not order:
            return 0
        largest = max(ce.max_vcpus for ce in order)
        moved = 0
        for queued in self._runnable(conn, queue.name):
            if queued.vcpus > largest:
                job = queued.job
                limit = queue.time_limit_actions.get(TOO_BIG)
                if limit is None:
                    moved += self._fail_too_big(conn, job, queue, largest)
                    continue
                if not self._time_limit(conn, job, _too_big(job, queue, largest), limit):
                    break  # the blocked head holds its queue until the action cancels it
                moved += 1
                continue
            target = next((ce for ce in order if _fits(ce, used, queued.vcpus)), None)
            if target is None:
                break  # the head does not fit now: the queue waits for the next cycle
            job = queued.job
            fields: dict[str, object] = {"compute_environment": target.name}
            if job.blocked_since is not None:
                fields["blocked_since"] = None
            if self._move(conn, job, JobStatus.STARTING, None, **fields):
                used[target.name] = used.get(target.name, 0.0) + job.container.vcpus
                moved += 1
                self.placed.append(
                    replace(job, status=JobStatus.STARTING, status_reason=None, **fields)  # type: ignore[arg-type]
                )
                logger.debug("placed job %s on %s", job.id, target.name, extra={"action": "place"})
        return moved

    def _runnable(self, conn: sqlite3.Connection, queue: str) -> Iterator[store.Queued]:
        after, size = 0, BATCH
        while batch := store.queue_head(conn, queue, after, size):
            for queued in batch:
                after = queued.seq
                yield queued
            size = min(size * 2, MAX_BATCH)

    def _fail_too_big(
        self, conn: sqlite3.Connection, job: Job, queue: JobQueue, largest: int
    ) -> int:
        reason = _too_big(job, queue, largest)
        return int(self._move(conn, job, JobStatus.FAILED, reason, stopped_at=epoch_ms(self.clock)))

    def _time_limit(self, conn: sqlite3.Connection, job: Job, reason: str, limit: int) -> bool:
        """A blocked head job under a jobStateTimeLimitAction: mark it, or cancel it once
        it has blocked for ``limit`` seconds; True when it was cancelled."""
        now = epoch_ms(self.clock)
        code = reason.split(" ", 1)[0]
        if job.blocked_since is None or job.status_reason != reason:
            store.mark_blocked(conn, job.id, reason, now)
            return False
        if now - job.blocked_since < limit * 1000:
            return False
        logger.info("job %s: time limit action", job.id, extra={"action": "time_limit_cancel"})
        return self._move(conn, job, JobStatus.FAILED, f"{TIME_LIMIT_CANCEL}{code}", stopped_at=now)


def _too_big(job: Job, queue: JobQueue, largest: int) -> str:
    return (
        f"{TOO_BIG} - the job needs {job.container.vcpus:g} vCPUs but the compute environments"
        f" of job queue {queue.name} have at most {largest} (maxvCpus)"
    )


def _fits(ce: ComputeEnvironment, used: dict[str, float], vcpus: float) -> bool:
    return ce.state == "ENABLED" and ce.max_vcpus - used.get(ce.name, 0.0) >= vcpus
