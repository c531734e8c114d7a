"""The resources jobs run on: compute environments, job queues, job definitions, and tags.

Requests are AWS request bodies (boto3 field names), so the API, the stack loader and the
event target call the same functions. The ``ensure_*`` variants load a stack at every
start: they create what is missing and update what changed, and an unchanged job
definition keeps its revision. :class:`~s3batch.batch.service.BatchService` adds jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace

from s3batch.batch import arns, requests, store
from s3batch.batch.models import ComputeEnvironment, JobDefinition, JobQueue
from s3batch.batch.requests import fail
from s3batch.batch.status import TERMINAL, JobStatus
from s3batch.clock import Clock
from s3batch.state.db import Database
from s3batch.types import Json

logger = logging.getLogger(__name__)

Request = Mapping[str, Json]


def epoch_ms(clock: Clock) -> int:
    """The clock's time in epoch milliseconds."""
    return int(clock.now().timestamp() * 1000)


class Registry:
    """AWS Batch's resources over the state store."""

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
        ce = (
            store.get_compute_environment(self.db.conn, name) if self.arns.owns(reference) else None
        )
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
        name = arns.resource_name(reference, arns.JOB_QUEUE)
        queue = store.get_job_queue(self.db.conn, name) if self.arns.owns(reference) else None
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
        live = [
            s for s in JobStatus if s not in TERMINAL
        ]  # filtered in SQL: a queue's history is long
        unfinished = [job.id for job in store.list_jobs(self.db.conn, queue.name, live)]
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
        if not self.arns.owns(reference):
            pass  # another region's or account's: not found here
        elif not revision:
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

    # -- tags ----------------------------------------------------------------------

    def tags(self, arn: str) -> dict[str, str]:
        """ListTagsForResource."""
        return store.get_tags(self.db.conn, arn)

    def tag_resource(self, arn: str, tags: Mapping[str, str]) -> None:
        """TagResource: add or replace tags (a resource holds at most 50).

        Raises:
            ClientException: the resource would hold more than 50.
        """
        with self.db.transaction() as conn:
            if len(store.get_tags(conn, arn).keys() | tags.keys()) > requests.MAX_TAGS:
                raise fail(f"a resource can have at most {requests.MAX_TAGS} tags")
            store.set_tags(conn, arn, tags)

    def untag_resource(self, arn: str, keys: Iterable[str]) -> None:
        """UntagResource: remove tags by key."""
        with self.db.transaction() as conn:
            store.remove_tags(conn, arn, keys)
