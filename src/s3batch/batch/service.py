"""Batch operations on jobs: submit, describe, list, and the guarded status moves.

:class:`BatchService` is the whole control plane: the resources (compute environments,
queues, definitions, tags) come from :class:`~s3batch.batch.registry.Registry`.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from s3batch.batch import arns, requests, store, submission
from s3batch.batch.errors import JobNotFound, TransitionConflict
from s3batch.batch.models import Job, JobEvent, Submission
from s3batch.batch.registry import Registry
from s3batch.batch.requests import fail
from s3batch.batch.status import JobStatus
from s3batch.batch.submission import build_job
from s3batch.clock import Clock
from s3batch.state.db import Database
from s3batch.types import Json

logger = logging.getLogger(__name__)

#: The tagging APIs' refusal of an array child's ARN (AWS's wording, from the API reference).
CHILD_NOT_TAGGABLE = (
    "ARNs for child jobs of array and multi-node parallel (MNP) jobs aren't supported."
)

Request = Mapping[str, Json]


@dataclass(frozen=True)
class Move:
    """One status move for :meth:`BatchService.transition_many`."""

    job_id: str
    sources: tuple[JobStatus, ...]
    target: JobStatus
    reason: str | None
    fields: dict[str, object] = field(default_factory=dict)
    #: A status passed through on the way, and when (see :func:`store.transition`).
    via: tuple[JobStatus, int] | None = None

    def happened(self, now: int) -> int:
        """When the move happened: its ``stopped_at``, else (a start) its ``started_at``, else ``now``."""
        at = self.fields.get("stopped_at")
        if at is None and self.via is None:
            at = self.fields.get("started_at")
        return at if isinstance(at, int) else now


class BatchService(Registry):
    """AWS Batch's control plane over the state store: the resources plus jobs."""

    def __init__(self, db: Database, clock: Clock, region: str, account_id: str) -> None:
        super().__init__(db, clock, region, account_id)
        #: Set when a RUNNING job is flagged to stop (TerminateJob), so the supervisor reads
        #: the flags then instead of on every pass; set at first, for flags left by a restart.
        self.stop_flagged = threading.Event()
        self.stop_flagged.set()

    def submit_job(
        self, request: Request, *, idempotency_key: str | None = None, trigger: Json = None
    ) -> Job:
        """SubmitJob. With an ``idempotency_key`` already used, the job it submitted is returned instead.

        Raises:
            ClientException: the request is invalid, or names an unknown or disabled queue or definition.
        """
        if idempotency_key is not None:
            existing = self.submitted(idempotency_key)
            if existing is not None:
                return existing
        queue = self.job_queue(str(requests.require(request, "jobQueue")))
        if queue.state != "ENABLED":
            raise fail(f"JobQueue {queue.name} is not in ENABLED state")
        definition = self.job_definition(
            str(requests.require(request, "jobDefinition")), active_only=True
        )
        job_id = str(uuid.uuid4())
        job = build_job(
            request,
            definition,
            queue,
            job_id=job_id,
            job_arn=self.arns.build(arns.JOB, job_id),
            now=self.now(),
            submission=Submission(idempotency_key, trigger),
        )
        tags = requests.tags(request.get("tags"))
        deps = submission.dependencies(request.get("dependsOn"))
        with self.db.transaction() as conn:
            missing = set(job.depends_on) - set(store.dependency_statuses(conn, job.depends_on))
            if missing:
                raise fail(f"dependsOn names unknown job {sorted(missing)[0]}")
            self._check_n_to_n(conn, job, deps.n_to_n)
            if not store.insert_job(conn, job):
                winner = store.job_by_key(conn, idempotency_key or "")
                assert winner is not None, "insert ignored without a key conflict"
                return winner
            for child in submission.children(job, deps) if job.is_array_parent else ():
                store.insert_job(conn, child)
            store.set_tags(conn, job.arn, tags)
        logger.debug(  # every submit is in job_events: a line each would cost more than the insert
            "submitted job %s (%s) to %s",
            job.id,
            job.name,
            queue.name,
            extra={"action": "submit_job"},
        )
        return job

    @staticmethod
    def _check_n_to_n(conn: sqlite3.Connection, job: Job, arrays: tuple[str, ...]) -> None:
        for array_id in arrays:
            other = store.get_job(conn, array_id)
            if other is None or not other.is_array_parent or other.array_size != job.array_size:
                raise fail(
                    f"N_TO_N dependency {array_id} must be an array job of size {job.array_size}"
                )

    def array_summary(self, job: Job) -> dict[str, int]:
        """An array parent's children counted by status (every status, as AWS lists them)."""
        counts = store.array_summary(self.db.conn, job.id)
        return {status.value: counts.get(status.value, 0) for status in JobStatus}

    def array_summary_changed_at(self, job: Job) -> int | None:
        """When an array parent's ``statusSummary`` last changed (epoch ms)."""
        return store.array_summary_changed_at(self.db.conn, job.id)

    def taggable_job(self, job_id: str) -> Job:
        """A job TagResource may tag: array children are refused, as AWS does.

        Raises:
            JobNotFound: there is none.
            ClientException: it is an array child.
        """
        job = self.job(job_id)
        if job.array_parent is not None:
            raise fail(CHILD_NOT_TAGGABLE)
        return job

    def submitted(self, idempotency_key: str) -> Job | None:
        """The job submitted with ``idempotency_key``, if any."""
        return store.job_by_key(self.db.conn, idempotency_key)

    def job(self, job_id: str) -> Job:
        """A job by id.

        Raises:
            JobNotFound: there is none.
        """
        job = store.get_job(self.db.conn, job_id)
        if job is None:
            raise JobNotFound(f"Job {job_id} not found.")
        return job

    def describe_jobs(self, job_ids: Iterable[str]) -> list[Job]:
        """The jobs with these ids, in the order asked; unknown ids are left out (as AWS does)."""
        found = (store.get_job(self.db.conn, job_id) for job_id in job_ids)
        return [job for job in found if job is not None]

    def list_jobs(self, queue: str | None = None, status: JobStatus | None = None) -> list[Job]:
        """Jobs in submission order, optionally of one queue (name or ARN) and one status."""
        name = self.job_queue(queue).name if queue is not None else None
        return store.list_jobs(self.db.conn, name, None if status is None else [status])

    def newest_jobs(
        self,
        where: Mapping[str, object],
        limit: int,
        *,
        after_seq: int | None = None,
        offset: int = 0,
    ) -> list[tuple[int, Job]]:
        """Up to ``limit`` jobs matching ``where`` (the filters :func:`store.page_jobs` takes),
        newest first, each with its seq: the cursor to pass as ``after_seq`` for the next ones.
        ``offset`` skips that many first. Only the jobs returned are read whole."""
        return store.page_jobs(self.db.conn, dict(where), True, after_seq, limit, offset)

    def count_jobs(self, where: Mapping[str, object]) -> int:
        """How many jobs match ``where`` (as for :meth:`newest_jobs`), counted in SQL."""
        return store.count_jobs(self.db.conn, dict(where))

    def job_counts(self) -> dict[tuple[str, str], int]:
        """Every job, array children too, counted by (queue name, status) in one SQL aggregate."""
        return store.job_counts(self.db.conn)

    def vcpus_in_use(self) -> dict[str, float]:
        """vCPUs held per compute environment by STARTING and RUNNING jobs."""
        return store.used_vcpus(self.db.conn)

    def array_children(self, job: Job) -> list[Job]:
        """An array parent's children, by index (none for any other job)."""
        return store.array_children(self.db.conn, job.id)

    def job_events(self, job_id: str) -> list[JobEvent]:
        """A job's status moves, oldest first."""
        return store.events(self.db.conn, job_id)

    def transition_many(self, moves: Sequence[Move]) -> list[bool]:
        """Several moves in one transaction (one commit); whether each took (a lost compare-and-set did not).

        A move that says when it happened (:meth:`Move.happened`) is stamped with that
        time, so a job's events agree with its startedAt/stoppedAt however late the move
        is written.

        Raises:
            IllegalTransition: a move is not in the status machine (nothing is written).
        """
        out: list[bool] = []
        with self.db.transaction() as conn:
            now = self.now()
            for m in moves:
                try:
                    at = m.happened(now)
                    store.transition(
                        conn, m.job_id, m.sources, m.target, m.reason, at, m.via, **m.fields
                    )
                except TransitionConflict as exc:
                    logger.warning("job %s: %s", m.job_id, exc, extra={"action": "transition"})
                    out.append(False)
                    continue
                out.append(True)
        for m, took in zip(moves, out, strict=True):
            if took:
                _log_move(m.job_id, m.target, m.reason)
        return out

    def transition(
        self,
        job_id: str,
        sources: Iterable[JobStatus],
        target: JobStatus,
        reason: str | None,
        **fields: object,
    ) -> Job:
        """Move a job (compare-and-set + job event) and return it as it now is.

        Raises:
            IllegalTransition: the move is not in the status machine.
            TransitionConflict: the job was not in any of ``sources``.
        """
        with self.db.transaction() as conn:
            store.transition(conn, job_id, sources, target, reason, self.now(), **fields)
            job = store.get_job(conn, job_id)
        assert job is not None
        _log_move(job_id, target, reason)
        return job


def _log_move(job_id: str, target: JobStatus, reason: str | None) -> None:
    """Log a status move: failures at INFO, the rest at DEBUG (a busy queue would otherwise
    write a line or more per job; every move is in ``job_events`` anyway)."""
    level = logging.INFO if target is JobStatus.FAILED else logging.DEBUG
    suffix = f": {reason}" if reason else ""
    logger.log(
        level, "job %s is %s%s", job_id, target.value, suffix, extra={"action": "transition"}
    )
