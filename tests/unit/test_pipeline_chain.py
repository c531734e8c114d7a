"""The whole in-process chain, no HTTP: object write → trail relay → bus → Batch job.

Built from the default stack (src/s3batch/stack/default.yaml), so its trail, rule pattern
and InputTransformer are the ones that ship.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from s3batch.batch.models import Job
from s3batch.batch.service import BatchService
from s3batch.batch.status import JobStatus
from s3batch.batch.target import BatchJobTarget
from s3batch.clock import FakeClock
from s3batch.events import store as event_store
from s3batch.events.dispatcher import Dispatcher
from s3batch.events.service import EventBus
from s3batch.objectstore.blobs import MemoryBlobStore
from s3batch.objectstore.checksums import BodyDigest
from s3batch.objectstore.models import Attributes
from s3batch.objectstore.multipart import Multipart
from s3batch.objectstore.service import ObjectStore
from s3batch.stack.model import Stack, default
from s3batch.state import outbox
from s3batch.state.db import Database
from s3batch.state.outbox import LEASE
from s3batch.trail.service import Trails
from s3batch.types import RequestContext

REGION, ACCOUNT = "us-east-1", "123456789012"
BUCKET = "s3-eventbridge-batch"
CTX = RequestContext(request_id="REQ", access_key_id="AKIATEST", region=REGION)
KEY = "incoming/Q3 report+final (1).csv"


@dataclass
class Chain:
    """The services of one server, wired as the runtime wires them (without threads)."""

    db: Database
    clock: FakeClock
    objects: ObjectStore
    multipart: Multipart
    trails: Trails
    bus: EventBus
    batch: BatchService
    dispatcher: Dispatcher
    wakes: list[str]

    def run(self) -> int:
        """Relay and dispatch until nothing moves; return how many items moved."""
        total = 0
        while moved := self.trails.relay() + self.dispatcher.tick():
            total += moved
        return total

    def jobs(self) -> list[Job]:
        return self.batch.list_jobs()


def apply(stack: Stack, chain: Chain) -> None:
    """What Runtime.apply does with a stack's buckets, trails, batch resources and rules."""
    for bucket in stack.buckets:
        chain.objects.ensure_bucket(bucket.name, REGION, bucket.eventbridge_enabled)
    for trail in stack.trails:
        chain.trails.ensure(trail)
    for ce in stack.compute_environments:
        chain.batch.ensure_compute_environment(ce)
    for queue in stack.job_queues:
        chain.batch.ensure_job_queue(queue)
    for definition in stack.job_definitions:
        chain.batch.ensure_job_definition(definition)
    for rule in stack.rules:
        chain.bus.put_rule(
            {k: v for k, v in rule.items() if k != "Targets"}, rule.get("Targets", [])
        )


@pytest.fixture(scope="module")
def stack() -> Stack:
    return default({})


@pytest.fixture
def chain(tmp_path: Path, stack: Stack) -> Iterator[Chain]:
    db = Database(tmp_path / "state.db")
    clock = FakeClock(datetime(2026, 4, 1, 8, 0, 0, tzinfo=UTC))
    objects = ObjectStore(db, MemoryBlobStore(), clock, ACCOUNT)
    batch = BatchService(db, clock, REGION, ACCOUNT)
    wakes: list[str] = []
    target = BatchJobTarget(batch, on_submit=lambda: wakes.append("scheduler"))
    built = Chain(
        db,
        clock,
        objects,
        Multipart(objects),
        Trails(db, clock, REGION, ACCOUNT),
        EventBus(db, clock, REGION, ACCOUNT),
        batch,
        Dispatcher(db, clock, {"batch": target}),
        wakes,
    )
    apply(stack, built)
    built.objects.create_bucket("staging-area", REGION)  # not covered by the trail
    yield built
    db.close()


def put(
    chain: Chain, key: str, data: bytes = b"1,a@b.c,NY,10001,1 Main St\n", bucket: str = BUCKET
) -> None:
    digest = BodyDigest(want_sha256=False, checksum_algorithm=None)
    digest.update(data)
    chain.objects.put_object(bucket, key, data, digest.result(), Attributes(), CTX)


def assert_one_job_for(chain: Chain, key: str) -> Job:
    [job] = chain.jobs()
    assert job.status is JobStatus.SUBMITTED
    assert job.parameters == {"table": "persons", "bucket": BUCKET, "key": key}
    command = job.container.command
    assert command[command.index("--bucket") + 1] == BUCKET
    assert command[command.index("--key") + 1] == key
    return job


@pytest.mark.parametrize(
    "key",
    [KEY, "a b.csv", "x+y.csv", "dir/with space+plus/ü %20.csv"],
    ids=["reference", "space", "plus", "mixed"],
)
def test_put_object_submits_exactly_one_job_with_the_raw_bucket_and_key(
    chain: Chain, key: str
) -> None:
    put(chain, key)
    assert chain.run() > 0
    job = assert_one_job_for(chain, key)
    assert job.submission.trigger["source"] == "aws.s3"
    assert job.submission.trigger["detailType"] == "AWS API Call via CloudTrail"
    assert chain.wakes == ["scheduler"]
    # exactly once: running the loops again finds nothing and submits nothing
    assert chain.run() == 0
    assert len(chain.jobs()) == 1


def test_only_the_cloudtrail_event_triggers_although_s3_events_are_on_the_bus_too(
    chain: Chain,
) -> None:
    put(chain, KEY)
    chain.run()
    events = chain.bus.recent_events()
    assert sorted((e["detail-type"], matched) for e, matched in events) == [
        ("AWS API Call via CloudTrail", ["S3-Source-Batch-Target"]),
        ("Object Created", []),
    ]
    [cloudtrail] = [e for e, _ in events if e["detail-type"] == "AWS API Call via CloudTrail"]
    [delivery] = event_store.deliveries(chain.db.conn, cloudtrail["id"])
    [job] = chain.jobs()
    assert (delivery.status, delivery.detail) == ("DELIVERED", f"job {job.id}")
    assert (
        job.submission.idempotency_key == f"{cloudtrail['id']}/S3-Source-Batch-Target/load-persons"
    )


def test_complete_multipart_upload_submits_one_job(chain: Chain) -> None:
    upload = chain.multipart.create(BUCKET, KEY, Attributes(), None)
    data = b"2,x@y.z,CA,90001,2 Side St\n"
    digest = BodyDigest(want_sha256=False, checksum_algorithm=None)
    digest.update(data)
    part = chain.multipart.upload_part(BUCKET, KEY, upload.upload_id, 1, data, digest.result())
    chain.run()
    assert chain.jobs() == []  # parts alone are not an object yet
    chain.multipart.complete(BUCKET, KEY, upload.upload_id, [(1, part.etag)], CTX)
    chain.run()
    assert_one_job_for(chain, KEY)
    assert chain.run() == 0 and len(chain.jobs()) == 1


def test_copy_object_into_the_bucket_submits_one_job(chain: Chain) -> None:
    put(chain, "staged.csv", bucket="staging-area")
    chain.run()
    assert chain.jobs() == []  # the staging bucket is not selected by the trail
    chain.objects.copy_object(("staging-area", "staged.csv"), BUCKET, KEY, None, CTX)
    chain.run()
    assert_one_job_for(chain, KEY)


def test_delete_object_submits_nothing(chain: Chain) -> None:
    put(chain, KEY)
    chain.run()
    assert len(chain.jobs()) == 1
    assert chain.objects.delete_object(BUCKET, KEY, CTX)
    assert chain.run() > 0  # the delete was logged and put on the bus...
    assert len(chain.jobs()) == 1  # ...but the rule does not match it
    names = [r["eventName"] for r in chain.trails.recent()]
    assert names == ["DeleteObject", "PutObject"]


def test_writes_to_an_unselected_bucket_submit_nothing(chain: Chain) -> None:
    put(chain, KEY, bucket="staging-area")
    assert chain.run() == 1  # the call is acknowledged, nothing more
    assert chain.jobs() == [] and chain.trails.recent() == []


def test_each_write_of_a_key_is_its_own_job(chain: Chain) -> None:
    put(chain, KEY, b"1\n")
    chain.run()
    put(chain, KEY, b"2\n")
    chain.run()
    assert [j.parameters["key"] for j in chain.jobs()] == [KEY, KEY]


def test_a_crash_after_submitting_but_before_acking_still_makes_one_job(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(chain, KEY)
    chain.trails.relay()
    real = event_store.record_event

    def crash(conn: Any, bus: str, event: Any, matched: list[str], at: str) -> None:
        if event["detail-type"] == "AWS API Call via CloudTrail":  # after its target ran
            raise OSError("power cut")
        real(conn, bus, event, matched, at)

    monkeypatch.setattr(event_store, "record_event", crash)
    with pytest.raises(OSError):
        while chain.dispatcher.tick():
            pass
    assert len(chain.jobs()) == 1  # the job was submitted before the crash
    monkeypatch.setattr(event_store, "record_event", real)
    chain.clock.advance(LEASE.total_seconds() + 1)  # the crashed pass's claim expires
    chain.run()
    assert_one_job_for(chain, KEY)
    assert outbox.pending(chain.db.conn, "events.bus") == 0
