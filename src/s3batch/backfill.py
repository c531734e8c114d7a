"""Backfill: load the objects that landed before their rule existed (or were never delivered).

For each object of a bucket (under a prefix), the events its upload produces are built by
the code that builds them for a real upload: the CloudTrail ``PutObject`` event when a
trail logs the object (:mod:`s3batch.trail.records`), and S3's "Object Created" event when
the bucket sends EventBridge events. The enabled rules of the default bus are compiled into
one matcher, as the dispatcher does; each Batch target of a matching rule gets the payload
its input transformer makes and the SubmitJob request that payload maps to. A rule matched
by both events is delivered once.

A job that runs the loader is skipped when the ledger of every one of its targets already
holds the object version (bucket, key, ETag) for its table; a rejects file the loader
wrote and a folder marker (a key ending in ``/``) are never loaded. Every other delivery goes through the
:class:`~s3batch.batch.target.BatchJobTarget` the dispatcher uses, with an event id derived
from the object version: the delivery id (the job's idempotency key) is the same on every
run, so a second backfill before the first job has run finds that job instead of
submitting another. Jobs go to the state store, where a running server's scheduler starts
them at once and a stopped one starts them when it is next brought up. Ledgers are all
read before anything is submitted, so a target that cannot be read stops the backfill
before it has done anything.

What backfill does with the job found under a delivery id depends on its status:

- SUBMITTED, PENDING, RUNNABLE, STARTING or RUNNING: skipped, the job is still on its way.
- FAILED: retried. The new job's idempotency key is the delivery id plus the failed job's
  id, so it is as stable as the delivery id: a second backfill finds the retry under that
  key (and, when the retry failed too, retries the retry) instead of submitting again.
- SUCCEEDED: skipped. When the job runs the loader, its ledgers cannot all hold the
  version (or the object would have been skipped before its job was looked up), yet every
  load records itself in the ledger of each target, whatever the table's mode, in the
  transaction that writes its rows. So the target was reset or restored since, or the job
  definition's targets or table changed. Loading again is left to the user: in ``replace``
  mode a backfill of a bucket's older objects would swap their rows over the newest ones.
  The report says which ledgers lack the version.

Re-uploading a fixed file with other bytes makes a new version (a new ETag), so a new
delivery id: its job is submitted as any other, whatever became of the old version's.
An upload's own event has a random id, so the job its delivery submitted is not found
here: an object whose ledgers lack its version gets a backfill job of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from s3batch.batch.models import Job
from s3batch.batch.params import merge
from s3batch.batch.service import BatchService
from s3batch.batch.status import JobStatus
from s3batch.batch.submission import container
from s3batch.batch.target import BatchJobTarget, submit_request
from s3batch.clock import Clock
from s3batch.events.matcher import Matcher
from s3batch.events.models import Rule
from s3batch.events.patterns import parse
from s3batch.events.service import DEFAULT_BUS, EventBus
from s3batch.events.targets import kind_of
from s3batch.events.transform import apply_target_input
from s3batch.loader.cli import job_options
from s3batch.loader.connections import fetch_target
from s3batch.loader.history import Version, loaded_versions
from s3batch.loader.rejects import REJECTS_SUFFIX
from s3batch.objectstore.models import ObjectMeta
from s3batch.objectstore.notifications import object_event
from s3batch.objectstore.records import api_call
from s3batch.objectstore.service import ObjectStore
from s3batch.secrets.service import Secrets
from s3batch.trail.records import bus_event, cloudtrail_record
from s3batch.trail.selectors import selects
from s3batch.trail.service import Trails
from s3batch.types import Json, RequestContext

#: Namespace of the event ids backfill derives from object versions.
EVENT_NAMESPACE = uuid.UUID("5d0f4c8e-3b7a-4f55-9a53-0c8f3c1e7b21")
#: Seconds to wait for a DuckDB target that a running load holds.
LOCK_WAIT = 60.0
#: Who the backfill's synthetic calls are from (CloudTrail's userAgent, requestID).
CALLER = "s3batch-backfill"

#: What backfill did with an object for one rule target (``no-rule``: no rule matched).
Action = Literal[
    "submitted",
    "retried",
    "already-submitted",
    "succeeded-not-in-ledger",
    "in-ledger",
    "rejects-file",
    "folder-marker",
    "no-rule",
]


@dataclass(frozen=True)
class Outcome:
    """One line of a backfill's report."""

    action: Action
    bucket: str
    key: str
    version: str
    #: ``rule/target id``, when a rule matched.
    delivery: str = ""
    #: The job submitted (or found submitted already).
    job: Job | None = None
    #: The FAILED job that ``job`` retries (``retried``, or ``already-submitted`` a retry).
    retries: Job | None = None
    #: The loader's targets (secret ids) whose ledger holds the version (``in-ledger``), or
    #: else lacks it.
    targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Delivery:
    """One Batch target of a rule matching an object's event, ready to deliver."""

    event: Json
    rule: Rule
    target: Json
    payload: Json

    @property
    def id(self) -> str:
        """The dispatcher's delivery id, also the job's idempotency key."""
        return f"{self.event['id']}/{self.rule.name}/{self.target['Id']}"

    @property
    def name(self) -> str:
        """``rule/target id``, for the report."""
        return f"{self.rule.name}/{self.target['Id']}"


class _LocalSecrets:
    """The Secrets Manager call the loader makes, answered from the state store."""

    def __init__(self, secrets: Secrets) -> None:
        self.secrets = secrets

    def get_secret_value(self, *, SecretId: str) -> Mapping[str, Any]:  # noqa: N803 - boto3's name
        """The secret's value. Raises ResourceNotFoundException."""
        return {"SecretString": self.secrets.get_value(SecretId).secret_string}


class Backfill:
    """Finds the rule targets of existing objects and submits the loads the ledgers lack."""

    def __init__(
        self,
        objects: ObjectStore,
        trails: Trails,
        bus: EventBus,
        batch: BatchService,
        secrets: Secrets,
        clock: Clock,
    ) -> None:
        self.objects, self.trails, self.bus = objects, trails, bus
        self.batch, self.clock = batch, clock
        self._secrets = _LocalSecrets(secrets)
        self._ledgers: dict[tuple[str, str], set[Version]] = {}

    def run(self, bucket: str, prefix: str = "") -> Iterator[Outcome]:
        """Plan every object, then submit what the ledgers lack: an outcome per line of report.

        Objects are taken in the order they were uploaded (then by key), as their events
        would have come: the queue starts the jobs in that order, so a ``replace`` of the
        newest object is the last to start, not the one whose key sorts last.

        Raises:
            NoSuchBucket: the bucket does not exist.
            LoaderError: the ledger of a job's target cannot be read (nothing was submitted).
        """
        matcher, rules = self._rules()
        plan = [
            step
            for obj in sorted(self._objects(bucket, prefix), key=lambda o: (o.last_modified, o.key))
            for step in self._plan(obj, matcher, rules)
        ]
        target = BatchJobTarget(self.batch)
        for outcome, delivery in plan:
            yield outcome if delivery is None else self._deliver(target, outcome, delivery)

    def _deliver(self, target: BatchJobTarget, outcome: Outcome, delivery: _Delivery) -> Outcome:
        """Submit the delivery's job, or retry the latest one if it FAILED; else report that one."""
        latest, retries = self._latest(delivery.id)
        if latest is None or latest.status == JobStatus.FAILED:
            key = delivery.id if latest is None else _retry_key(delivery.id, latest)
            detail = target.deliver(delivery.event, delivery.target, delivery.payload, key)
            # The target reports "job <id>", as the dispatcher records in deliveries.
            job = self.batch.job(detail.removeprefix("job "))
            action: Action = "submitted" if latest is None else "retried"
            return replace(outcome, action=action, job=job, retries=latest)
        if latest.status == JobStatus.SUCCEEDED and outcome.targets:
            return replace(outcome, action="succeeded-not-in-ledger", job=latest)
        return replace(outcome, action="already-submitted", job=latest, retries=retries)

    def _latest(self, delivery_id: str) -> tuple[Job | None, Job | None]:
        """The delivery's newest job, following the retries of failed ones, and the job it retries."""
        job, retries = self.batch.submitted(delivery_id), None
        while job is not None and job.status == JobStatus.FAILED:
            retry = self.batch.submitted(_retry_key(delivery_id, job))
            if retry is None:
                break
            job, retries = retry, job
        return job, retries

    def _rules(self) -> tuple[Matcher, dict[str, Rule]]:
        """The enabled rules of the default bus, compiled into one matcher (as the dispatcher does)."""
        matcher, rules = Matcher(), {}
        for rule in self.bus.rules(DEFAULT_BUS):
            if rule.enabled and rule.matches_events:
                matcher.add(rule.name, parse(rule.pattern))
                rules[rule.name] = rule
        return matcher, rules

    def _objects(self, bucket: str, prefix: str) -> Iterator[ObjectMeta]:
        token: str | None = None
        while True:
            page = self.objects.list_objects(bucket, prefix, token=token)
            yield from page.contents
            if not page.is_truncated or not page.next_token:
                return
            token = page.next_token

    def _plan(
        self, obj: ObjectMeta, matcher: Matcher, rules: dict[str, Rule]
    ) -> list[tuple[Outcome, _Delivery | None]]:
        version = obj.etag.strip('"')
        base = Outcome("submitted", obj.bucket, obj.key, version)
        deliveries = list(self._deliveries(obj, version, matcher, rules))
        if not deliveries:
            return [(replace(base, action="no-rule"), None)]
        return [self._check(replace(base, delivery=d.name), d) for d in deliveries]

    def _deliveries(
        self, obj: ObjectMeta, version: str, matcher: Matcher, rules: dict[str, Rule]
    ) -> Iterator[_Delivery]:
        seen: set[str] = set()
        ingested = self.clock.now().isoformat(timespec="microseconds")
        for event in self._events(obj, version):
            for name in sorted(matcher.matches(event) - seen):
                seen.add(name)
                rule = rules[name]
                for target in rule.targets:
                    if kind_of(target["Arn"]) == "batch":
                        payload = apply_target_input(event, target, rule.name, rule.arn, ingested)
                        yield _Delivery(event, rule, target, payload)

    def _events(self, obj: ObjectMeta, version: str) -> list[Json]:
        """The events a PutObject of ``obj`` puts on the default bus, with stable ids."""
        account, now = self.bus.account_id, obj.last_modified
        ctx = RequestContext(CALLER, user_agent=CALLER, region=self.bus.region)
        call = api_call("PutObject", obj, ctx, now)
        events = []
        if any(selects(t, obj.bucket, obj.key, read_only=False) for t in self.trails.trails()):
            events.append(bus_event(cloudtrail_record(call, account), account))
        if self.objects.bucket(obj.bucket).eventbridge_enabled:
            events.append(object_event("PutObject", obj, ctx, now, account, call["sequencer"]))
        for event in events:
            name = f"{event['detail-type']}/{obj.bucket}/{obj.key}/{version}"
            event["id"] = str(uuid.uuid5(EVENT_NAMESPACE, name))
        return events

    def _check(self, outcome: Outcome, delivery: _Delivery) -> tuple[Outcome, _Delivery | None]:
        """Skip a loader job whose targets' ledgers all hold the version (or a rejects file).

        Otherwise the outcome names the loader's targets whose ledger lacks the version.
        """
        request = submit_request(delivery.target, delivery.payload)
        definition = self.batch.job_definition(str(request["jobDefinition"]), active_only=True)
        parameters = merge(definition.parameters, request.get("parameters"))
        load = job_options(container(request, definition, parameters).command)
        if load is None or (load.bucket, load.key) != (outcome.bucket, outcome.key):
            return outcome, delivery  # not a load of this object: no ledger to look at
        if outcome.key.endswith(REJECTS_SUFFIX):
            return replace(outcome, action="rejects-file"), None
        if outcome.key.endswith("/"):  # the loader would load nothing from it
            return replace(outcome, action="folder-marker"), None
        table = str(load.table).lower()
        identity = (outcome.bucket, outcome.key, outcome.version, table)
        lacking = tuple(t for t in load.target if identity not in self._ledger(t, table))
        if not lacking:
            return replace(outcome, action="in-ledger", targets=tuple(load.target)), None
        return replace(outcome, targets=lacking), delivery

    def _ledger(self, secret_id: str, table: str) -> set[Version]:
        if (secret_id, table) not in self._ledgers:
            target = fetch_target(self._secrets, secret_id)
            self._ledgers[secret_id, table] = loaded_versions(
                target, table=table, lock_wait=LOCK_WAIT
            )
        return self._ledgers[secret_id, table]


def _retry_key(delivery_id: str, failed: Job) -> str:
    """The idempotency key of the job that retries the delivery's ``failed`` job."""
    return f"{delivery_id}/retry-of/{failed.id}"
