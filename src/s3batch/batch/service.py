"""Batch operations: compute environments, job queues, job definitions and jobs.

Requests are AWS request bodies (boto3 field names), so the API, the stack loader and the
event target call the same functions. The ``ensure_*`` variants load a stack at every
start: they create what is missing and update what changed, and an unchanged job
definition keeps its revision.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from s3batch.batch import arns, requests, store, submission
from s3batch.batch.errors import JobNotFound, TransitionConflict
from s3batch.batch.models import (
    ComputeEnvironment,
    Job,
    JobDefinition,
    JobEvent,
    JobQueue,
    Submission,
)
from s3batch.batch.requests import fail
from s3batch.batch.status import TERMINAL, JobStatus
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


def epoch_ms(clock: Clock) -> int:
    """The clock's time in epoch milliseconds."""
    return int(clock.now().timestamp() * 1000)


class BatchService:
    """AWS Batch's control plane over the state store."""

    def __init__(self, db: Database, clock: Clock, region: str, account_id: str) -> None:
        self.db = db
        self.clock = clock
        self.arns = arns.ArnBuilder(region, account_id)

    def now(self) -> int:
        """The current time in epoch milliseconds."""
        return epoch_ms(self.clock)

    # -- compute environments ------------------------------------------------------

    def _parse_ce(self, request: Request) -> ComputeEnvironment:
        return requests.compute_environment(
            request, lambda name: self.arns.build(arns.COMPUTE_ENVIRONMENT, name), self.now()
        )

    def create_compute_environment(self, request: Request) -> ComputeEnvironment:
        """CreateComputeEnvironment.

        Raises:
            ClientException: the request is invalid or the name is taken.
        """
        ce = self._parse_ce(request)
        with self.db.transaction() as conn:
            if not store.insert_compute_environment(conn, ce):
                raise fail("Object already exists")
            store.set_tags(conn, ce.arn, requests.tags(request.get("tags")))
        logger.info(
            "created compute environment %s",
            ce.name,
            extra={"action": "create_compute_environment"},
        )
        return ce

    def ensure_compute_environment(self, request: Request) -> ComputeEnvironment:
        """Create a compute environment, or update it to match ``request`` (stack loading)."""
        ce = self._parse_ce(request)
        with self.db.transaction() as conn:
            if not store.insert_compute_environment(conn, ce):
                store.update_compute_environment(conn, ce)
        return self.compute_environment(ce.name)

    def compute_environment(self, reference: str) -> ComputeEnvironment:
        """A compute environment by name or ARN.

        Raises:
            ClientException: there is none.
        """
        name = arns.resource_name(reference, arns.COMPUTE_ENVIRONMENT)
        ce = store.get_compute_environment(self.db.conn, name)
        if ce is None:
            raise fail(f"ComputeEnvironment {reference} not found.")
        return ce

    def compute_environments(self) -> list[ComputeEnvironment]:
        """Every compute environment, by name."""
        return store.list_compute_environments(self.db.conn)

    def update_compute_environment(self, request: Request) -> ComputeEnvironment:
        """UpdateComputeEnvironment: ``state``, ``unmanagedvCpus`` or ``computeResources.maxvCpus``.

        Raises:
            ClientException: there is no such compute environment, or a value is invalid.
        """
        ce = self.compute_environment(str(requests.require(request, "computeEnvironment")))
        updated = requests.compute_environment_update(ce, request)
        with self.db.transaction() as conn:
            store.update_compute_environment(conn, updated)
        return self.compute_environment(ce.name)

    def delete_compute_environment(self, reference: str) -> None:
        """DeleteComputeEnvironment: only a DISABLED one that no queue uses.

        Raises:
            ClientException: there is none, it is ENABLED, or a queue uses it.
        """
        ce = self.compute_environment(reference)
        if ce.state != "DISABLED":
            raise fail(f"ComputeEnvironment {ce.name} must be DISABLED before it is deleted")
        with self.db.transaction() as conn:
            users = store.queues_using(conn, ce.name)
            if users:
                raise fail(f"Cannot delete, found existing JobQueue relationship: {users[0]}")
            store.delete_compute_environment(conn, ce.name)
            store.drop_tags(conn, ce.arn)

    # -- job queues ----------------------------------------------------------------

    def _parse_queue(self, request: Request) -> JobQueue:
        return requests.job_queue(
            request,
            lambda name: self.arns.build(arns.JOB_QUEUE, name),
            self.compute_environment,
            self.now(),
        )

    def create_job_queue(self, request: Request) -> JobQueue:
        """CreateJobQueue.

        Raises:
            ClientException: the request is invalid, names an unknown compute environment, or the name is taken.
        """
        queue = self._parse_queue(request)
        with self.db.transaction() as conn:
            if not store.insert_job_queue(conn, queue):
                raise fail("Object already exists")
            store.set_tags(conn, queue.arn, requests.tags(request.get("tags")))
        logger.info("created job queue %s", queue.name, extra={"action": "create_job_queue"})
        return self.job_queue(queue.name)

    def ensure_job_queue(self, request: Request) -> JobQueue:
        """Create a job queue, or update it to match ``request`` (stack loading)."""
        queue = self._parse_queue(request)
        with self.db.transaction() as conn:
            if not store.insert_job_queue(conn, queue):
                store.update_job_queue(conn, queue)
        return self.job_queue(queue.name)

    def job_queue(self, reference: str) -> JobQueue:
        """A job queue by name or ARN.

        Raises:
            ClientException: there is none.
        """
        queue = store.get_job_queue(self.db.conn, arns.resource_name(reference, arns.JOB_QUEUE))
        if queue is None:
            raise fail(f"JobQueue {reference} not found.")
        return queue

    def job_queues(self) -> list[JobQueue]:
        """Every job queue, highest priority first."""
        return store.list_job_queues(self.db.conn)

    def update_job_queue(self, request: Request) -> JobQueue:
        """UpdateJobQueue: ``state``, ``priority`` or ``computeEnvironmentOrder``.

        Raises:
            ClientException: there is no such queue, or a value is invalid.
        """
        queue = self.job_queue(str(requests.require(request, "jobQueue")))
        merged = {**queue.spec, "jobQueueName": queue.name}
        merged.update({k: v for k, v in request.items() if k != "jobQueue" and v is not None})
        updated = replace(self._parse_queue(merged), created_at=queue.created_at)
        with self.db.transaction() as conn:
            store.update_job_queue(conn, updated)
        return self.job_queue(queue.name)

    def delete_job_queue(self, reference: str) -> list[str]:
        """DeleteJobQueue: only a DISABLED queue; return the ids of its unfinished jobs (to be failed).

        Raises:
            ClientException: there is none, or it is ENABLED.
        """
        queue = self.job_queue(reference)
        if queue.state != "DISABLED":
            raise fail(f"JobQueue {queue.name} must be DISABLED before it is deleted")
        unfinished = [
            job.id
            for job in store.list_jobs(self.db.conn, queue.name)
            if job.status not in TERMINAL
        ]
        with self.db.transaction() as conn:
            store.delete_job_queue(conn, queue.name)
            store.drop_tags(conn, queue.arn)
        return unfinished

    # -- job definitions -----------------------------------------------------------

    def register_job_definition(self, request: Request) -> JobDefinition:
        """RegisterJobDefinition: always a new revision, as on AWS.

        Raises:
            ClientException: the request is invalid.
        """
        definition = requests.job_definition(request, self.now())
        definition = self._register(definition, requests.fingerprint(request))
        self.tag_resource(definition.arn, requests.tags(request.get("tags")))
        return definition

    def _register(self, definition: JobDefinition, fingerprint: str) -> JobDefinition:
        with self.db.transaction() as conn:
            revision = store.next_revision(conn, definition.name)
            arn = self.arns.build(arns.JOB_DEFINITION, f"{definition.name}:{revision}")
            definition = replace(definition, revision=revision, arn=arn)
            store.insert_job_definition(conn, definition, fingerprint)
        logger.info(
            "registered job definition %s",
            definition.arn,
            extra={"action": "register_job_definition"},
        )
        return definition

    def ensure_job_definition(self, request: Request) -> JobDefinition:
        """The latest ACTIVE revision when it was registered from the same request, else a new revision."""
        definition = requests.job_definition(request, self.now())
        fingerprint = requests.fingerprint(request)
        latest = store.latest_active_definition(self.db.conn, definition.name)
        if latest is not None and latest[1] == fingerprint:
            return latest[0]
        return self._register(definition, fingerprint)

    def job_definition(self, reference: str, active_only: bool = False) -> JobDefinition:
        """A definition by ``name`` (latest ACTIVE revision), ``name:revision`` or ARN.

        Raises:
            ClientException: there is none (or it is INACTIVE and ``active_only``).
        """
        is_arn = reference.startswith("arn:")
        text = arns.resource_name(reference, arns.JOB_DEFINITION)
        name, _, revision = text.partition(":")
        found: JobDefinition | None = None
        if not revision:
            latest = store.latest_active_definition(self.db.conn, name)
            found = latest[0] if latest else None
            if found is None and not is_arn:
                raise fail(f"JobDefinition name {name} does not exist or is not in ACTIVE status")
        elif revision.isdigit():
            found = store.get_job_definition(self.db.conn, name, int(revision))
        if found is None or (active_only and found.status != "ACTIVE"):
            raise fail(f"JobDefinition {reference} not found.")
        return found

    def deregister_job_definition(self, reference: str) -> JobDefinition:
        """DeregisterJobDefinition: the revision (``name:revision`` or ARN) becomes INACTIVE.

        Raises:
            ClientException: there is no such revision.
        """
        definition = self.job_definition(reference)
        if ":" not in arns.resource_name(reference, arns.JOB_DEFINITION):
            raise fail("jobDefinition must name a revision (name:revision or an ARN)")
        with self.db.transaction() as conn:
            store.set_definition_status(conn, definition.name, definition.revision, "INACTIVE")
        return replace(definition, status="INACTIVE")

    def job_definitions(
        self, name: str | None = None, status: str | None = None
    ) -> list[JobDefinition]:
        """Definitions by name and revision, optionally of one name and/or status."""
        return store.list_job_definitions(self.db.conn, name, status)

    # -- jobs ----------------------------------------------------------------------

    def submit_job(
        self, request: Request, *, idempotency_key: str | None = None, trigger: Json = None
    ) -> Job:
        """SubmitJob. With an ``idempotency_key`` already used, the job it submitted is returned instead.

        Raises:
            ClientException: the request is invalid, or names an unknown or disabled queue or definition.
        """
        if idempotency_key is not None:
            existing = store.job_by_key(self.db.conn, idempotency_key)
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
        logger.info(
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

    # -- tags ----------------------------------------------------------------------

    def tags(self, arn: str) -> dict[str, str]:
        """ListTagsForResource."""
        return store.get_tags(self.db.conn, arn)

    def tag_resource(self, arn: str, tags: Mapping[str, str]) -> None:
        """TagResource: add or replace tags."""
        with self.db.transaction() as conn:
            store.set_tags(conn, arn, tags)

    def untag_resource(self, arn: str, keys: Iterable[str]) -> None:
        """UntagResource: remove tags by key."""
        with self.db.transaction() as conn:
            store.remove_tags(conn, arn, keys)

    def job_events(self, job_id: str) -> list[JobEvent]:
        """A job's status moves, oldest first."""
        return store.events(self.db.conn, job_id)

    def transition_many(self, moves: Sequence[Move]) -> list[bool]:
        """Several moves in one transaction (one commit); whether each took (a lost compare-and-set did not).

        Raises:
            IllegalTransition: a move is not in the status machine (nothing is written).
        """
        out: list[bool] = []
        with self.db.transaction() as conn:
            now = self.now()
            for m in moves:
                try:
                    store.transition(conn, m.job_id, m.sources, m.target, m.reason, now, **m.fields)
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
    """Log a status move: outcomes at INFO, the steps on the way at DEBUG (a busy queue
    would otherwise write several lines per job; every move is in ``job_events`` anyway)."""
    level = logging.INFO if target in TERMINAL else logging.DEBUG
    suffix = f": {reason}" if reason else ""
    logger.log(level, "job %s is %s%s", job_id, target.value, suffix, extra={"action": "transition"})
