"""S3's own EventBridge events: their shape (pure) and the write path that puts them on the bus."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from s3batch.clock import FakeClock
from s3batch.objectstore.blobs import MemoryBlobStore
from s3batch.objectstore.checksums import Digests
from s3batch.objectstore.models import Attributes, ObjectMeta
from s3batch.objectstore.multipart import MIN_PART_SIZE, Multipart
from s3batch.objectstore.notifications import BUS_TOPIC, bus_message, object_event
from s3batch.objectstore.service import ObjectStore
from s3batch.state import outbox
from s3batch.state.db import Database
from s3batch.types import RequestContext

REFERENCE = Path("/work/shared/reference/events")
PUT_REF = json.loads((REFERENCE / "s3_eventbridge_object_created_putobject.json").read_text())
MPU_REF = json.loads((REFERENCE / "s3_eventbridge_object_created_multipart.json").read_text())

ACCOUNT = "111122223333"
T0 = datetime(2026, 11, 28, 4, 0, 0, tzinfo=UTC)
CTX = RequestContext(request_id="CF9748DFDC5FB0A4", source_ip="192.0.2.10", region="us-east-1")


def meta(key: str, size: int, etag: str, bucket: str = "demo-bucket") -> ObjectMeta:
    return ObjectMeta(bucket, key, size, etag, T0, Attributes())


def digests(data: bytes) -> Digests:
    return Digests(len(data), hashlib.md5(data).digest(), None, None, None)


# -- shape (pure) --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference", [PUT_REF, MPU_REF], ids=["PutObject", "CompleteMultipartUpload"]
)
def test_object_created_matches_the_aws_event(reference: dict[str, Any]) -> None:
    ref = reference["detail"]
    obj = meta(ref["object"]["key"], ref["object"]["size"], f'"{ref["object"]["etag"]}"')
    ctx = RequestContext(request_id=ref["request-id"], source_ip=ref["source-ip-address"])
    when = datetime.strptime(reference["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    event = object_event(ref["reason"], obj, ctx, when, ACCOUNT, ref["object"]["sequencer"])
    assert set(event) == set(reference)
    assert {k: v for k, v in event.items() if k not in ("id", "detail")} == {
        k: v for k, v in reference.items() if k not in ("id", "detail")
    }
    # s3batch has no versioning, so there is no version-id; everything else is as AWS sends it
    expected = json.loads(json.dumps(ref))
    del expected["object"]["version-id"]
    assert event["detail"] == expected


def test_etag_is_unquoted_and_the_key_raw() -> None:
    event = object_event("PutObject", meta("a b+c (1).csv", 3, '"abc"'), CTX, T0, ACCOUNT, "01")
    assert event["detail"]["object"] == {
        "key": "a b+c (1).csv",
        "size": 3,
        "etag": "abc",
        "sequencer": "01",
    }


@pytest.mark.parametrize(
    "reason", ["PutObject", "CopyObject", "CompleteMultipartUpload", "POST Object"]
)
def test_writes_are_object_created(reason: str) -> None:
    event = object_event(reason, meta("k", 1, '"e"'), CTX, T0, ACCOUNT, "01")
    assert event["detail-type"] == "Object Created"
    assert event["detail"]["reason"] == reason
    assert "deletion-type" not in event["detail"]


def test_delete_is_object_deleted_without_size_or_etag() -> None:
    event = object_event("DeleteObject", meta("k", 5, '"e"'), CTX, T0, ACCOUNT, "02")
    assert event["detail-type"] == "Object Deleted"
    assert event["source"] == "aws.s3"
    assert event["detail"]["object"] == {"key": "k", "sequencer": "02"}
    assert event["detail"]["reason"] == "DeleteObject"
    assert event["detail"]["deletion-type"] == "Permanently Deleted"


def test_bus_message_addresses_the_default_bus() -> None:
    assert bus_message({"id": "x"}) == {"bus": "default", "event": {"id": "x"}}
    assert bus_message({"id": "x"}, "custom") == {"bus": "custom", "event": {"id": "x"}}


# -- the write path ------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def objects(db: Database, clock: FakeClock) -> ObjectStore:
    store = ObjectStore(db, MemoryBlobStore(), clock, ACCOUNT)
    store.create_bucket("with-eb", "us-east-1", eventbridge=True)
    store.create_bucket("without-eb", "us-east-1")
    return store


def payloads(db: Database, topic: str) -> list[dict[str, Any]]:
    rows = db.conn.execute("SELECT payload FROM outbox WHERE topic = ? ORDER BY id", (topic,))
    return [json.loads(r["payload"]) for r in rows]


def put(objects: ObjectStore, bucket: str, key: str, data: bytes = b"hello") -> ObjectMeta:
    return objects.put_object(bucket, key, data, digests(data), Attributes(), CTX)


def complete_multipart(objects: ObjectStore, bucket: str, key: str) -> tuple[ObjectMeta, str]:
    multipart = Multipart(objects)
    upload = multipart.create(bucket, key, Attributes(), None)
    chosen = []
    for number, data in ((1, b"1" * MIN_PART_SIZE), (2, b"tail")):
        part = multipart.upload_part(bucket, key, upload.upload_id, number, data, digests(data))
        chosen.append((number, part.etag))
    return multipart.complete(bucket, key, upload.upload_id, chosen, CTX), upload.upload_id


def test_every_write_to_an_eventbridge_bucket_puts_one_event_on_the_bus(
    objects: ObjectStore, db: Database, clock: FakeClock
) -> None:
    put(objects, "with-eb", "a b+c.csv", b"12345")
    clock.advance(1)
    objects.copy_object(("with-eb", "a b+c.csv"), "with-eb", "copy.csv", None, CTX)
    clock.advance(1)
    big, _ = complete_multipart(objects, "with-eb", "big.bin")
    clock.advance(1)
    objects.delete_object("with-eb", "a b+c.csv", CTX)

    messages = payloads(db, BUS_TOPIC)
    assert all(m["bus"] == "default" for m in messages)
    events = [m["event"] for m in messages]
    assert [
        (e["detail-type"], e["detail"]["reason"], e["detail"]["object"]["key"]) for e in events
    ] == [
        ("Object Created", "PutObject", "a b+c.csv"),
        ("Object Created", "CopyObject", "copy.csv"),
        ("Object Created", "CompleteMultipartUpload", "big.bin"),
        ("Object Deleted", "DeleteObject", "a b+c.csv"),
    ]
    assert all(e["detail"]["bucket"] == {"name": "with-eb"} for e in events)
    assert all(e["resources"] == ["arn:aws:s3:::with-eb"] for e in events)
    assert all(e["account"] == ACCOUNT and e["detail"]["requester"] == ACCOUNT for e in events)
    put_obj, copy_obj, mpu_obj = (e["detail"]["object"] for e in events[:3])
    assert (put_obj["size"], put_obj["etag"]) == (5, hashlib.md5(b"12345").hexdigest())
    assert (copy_obj["size"], copy_obj["etag"]) == (5, put_obj["etag"])
    assert (mpu_obj["size"], mpu_obj["etag"]) == (big.size, big.etag.strip('"'))
    assert mpu_obj["etag"].endswith("-2") and '"' not in mpu_obj["etag"]
    assert [e["time"] for e in events] == [
        "2026-11-28T04:00:00Z",
        "2026-11-28T04:00:01Z",
        "2026-11-28T04:00:02Z",
        "2026-11-28T04:00:03Z",
    ]


def test_the_bus_event_shares_the_api_calls_sequencer(objects: ObjectStore, db: Database) -> None:
    put(objects, "with-eb", "k")
    [call] = payloads(db, "s3.api_call")
    [message] = payloads(db, BUS_TOPIC)
    assert message["event"]["detail"]["object"]["sequencer"] == call["sequencer"]


def test_sequencers_of_later_writes_to_a_key_sort_higher(
    objects: ObjectStore, db: Database, clock: FakeClock
) -> None:
    for _ in range(3):
        put(objects, "with-eb", "k")
        clock.advance(0.001)
    objects.delete_object("with-eb", "k", CTX)
    sequencers = [m["event"]["detail"]["object"]["sequencer"] for m in payloads(db, BUS_TOPIC)]
    assert sequencers == sorted(sequencers) and len(set(sequencers)) == 4


def test_a_bucket_without_eventbridge_puts_nothing_on_the_bus(
    objects: ObjectStore, db: Database
) -> None:
    put(objects, "without-eb", "a")
    objects.copy_object(("without-eb", "a"), "without-eb", "b", None, CTX)
    complete_multipart(objects, "without-eb", "big")
    objects.delete_object("without-eb", "a", CTX)
    assert outbox.pending(db.conn, BUS_TOPIC) == 0
    assert outbox.pending(db.conn, "s3.api_call") == 4


def test_copying_into_an_eventbridge_bucket_uses_the_destinations_switch(
    objects: ObjectStore, db: Database
) -> None:
    put(objects, "with-eb", "src")
    put(objects, "without-eb", "src")
    objects.copy_object(("with-eb", "src"), "without-eb", "from-eb", None, CTX)
    objects.copy_object(("without-eb", "src"), "with-eb", "from-plain", None, CTX)
    keys = [m["event"]["detail"]["object"]["key"] for m in payloads(db, BUS_TOPIC)]
    assert keys == ["src", "from-plain"]


def test_deleting_a_missing_key_puts_nothing_on_the_bus(objects: ObjectStore, db: Database) -> None:
    assert objects.delete_object("with-eb", "never-there", CTX) is False
    assert outbox.pending(db.conn, BUS_TOPIC) == 0


def test_every_committed_write_runs_the_after_write_hook(objects: ObjectStore) -> None:
    # The runtime wakes the trail relay with this hook; a write that skips it waits for the poll.
    woken: list[str] = []
    objects.after_write = lambda: woken.append("x")
    put(objects, "with-eb", "a")
    assert len(woken) == 1
    objects.copy_object(("with-eb", "a"), "with-eb", "b", None, CTX)
    assert len(woken) == 2
    objects.delete_object("with-eb", "b", CTX)
    assert len(woken) == 3
    complete_multipart(objects, "with-eb", "big")
    assert len(woken) == 4, "CompleteMultipartUpload did not run after_write"
