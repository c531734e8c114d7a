"""Trails.ensure and the relay: object calls → CloudTrail records + bus events, exactly once."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from s3batch.clock import FakeClock
from s3batch.objectstore.blobs import MemoryBlobStore
from s3batch.objectstore.checksums import Digests
from s3batch.objectstore.models import Attributes
from s3batch.objectstore.multipart import Multipart
from s3batch.objectstore.service import ObjectStore
from s3batch.state import outbox
from s3batch.state.db import Database
from s3batch.trail import service as trail_service
from s3batch.trail.models import Trail
from s3batch.trail.service import BUS_TOPIC, CALLS_TOPIC, Trails
from s3batch.types import RequestContext

T0 = datetime(2026, 3, 1, 9, 30, 0, tzinfo=UTC)
ACCOUNT = "123456789012"
CTX = RequestContext(request_id="REQ-1", access_key_id="AKIATEST", region="us-east-1", host="h")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def objects(db: Database, clock: FakeClock) -> ObjectStore:
    store = ObjectStore(db, MemoryBlobStore(), clock, ACCOUNT)
    store.create_bucket("data", "us-east-1")
    store.create_bucket("other", "us-east-1")
    return store


@pytest.fixture
def trails(db: Database, clock: FakeClock) -> Trails:
    return Trails(db, clock, "us-east-1", ACCOUNT)


def trail_request(*values: str, name: str = "t", rw: str = "WriteOnly") -> dict[str, Any]:
    return {
        "Name": name,
        "EventSelectors": [
            {
                "ReadWriteType": rw,
                "IncludeManagementEvents": False,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": list(values)}],
            }
        ],
    }


def put(objects: ObjectStore, bucket: str, key: str, data: bytes = b"a,b\n") -> None:
    digests = Digests(len(data), hashlib.md5(data).digest(), None, None, None)
    objects.put_object(bucket, key, data, digests, Attributes(), CTX)


def bus_rows(db: Database) -> list[dict[str, Any]]:
    rows = db.conn.execute("SELECT payload FROM outbox WHERE topic = ? ORDER BY id", (BUS_TOPIC,))
    return [json.loads(r["payload"]) for r in rows]


def record_count(db: Database) -> int:
    return int(db.conn.execute("SELECT count(*) AS n FROM trail_events").fetchone()["n"])


# -- ensure ------------------------------------------------------------------------------------


def test_ensure_creates_a_trail_with_its_arn(trails: Trails) -> None:
    trail = trails.ensure(trail_request("arn:aws:s3:::data/", name="s3-data-events"))
    assert trail.arn == f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/s3-data-events"
    assert trails.trails() == [trail]


def test_ensure_again_updates_the_trail_in_place(trails: Trails) -> None:
    trails.ensure(trail_request("arn:aws:s3:::data/"))
    updated = trails.ensure(trail_request("arn:aws:s3:::other/", rw="All"))
    assert trails.trails() == [updated]
    assert updated.selectors[0].data_resources[0].values == ("arn:aws:s3:::other/",)
    assert updated.selectors[0].read_write_type == "All"


def test_trails_are_listed_by_name(trails: Trails) -> None:
    for name in ("b", "c", "a"):
        trails.ensure(trail_request("arn:aws:s3", name=name))
    assert [t.name for t in trails.trails()] == ["a", "b", "c"]
    assert all(isinstance(t, Trail) for t in trails.trails())


# -- relay -------------------------------------------------------------------------------------


def test_relay_with_nothing_pending_does_nothing(trails: Trails, db: Database) -> None:
    trails.ensure(trail_request("arn:aws:s3:::data/"))
    assert trails.relay() == 0
    assert record_count(db) == 0 and bus_rows(db) == []


def test_a_selected_call_is_recorded_and_published_once(
    trails: Trails, objects: ObjectStore, db: Database
) -> None:
    trails.ensure(trail_request("arn:aws:s3:::data/"))
    put(objects, "data", "in/a b+c.csv")
    assert trails.relay() == 1
    [record] = trails.recent()
    assert record["eventName"] == "PutObject"
    assert record["requestParameters"]["bucketName"] == "data"
    assert record["requestParameters"]["key"] == "in/a b+c.csv"
    assert record["eventTime"] == "2026-03-01T09:30:00Z"
    assert record["recipientAccountId"] == ACCOUNT
    [message] = bus_rows(db)
    assert message["bus"] == "default"
    event = message["event"]
    assert event["detail-type"] == "AWS API Call via CloudTrail"
    assert event["source"] == "aws.s3"
    assert event["detail"] == record
    assert outbox.pending(db.conn, CALLS_TOPIC) == 0
    # exactly once: a second pass finds nothing and writes nothing
    assert trails.relay() == 0
    assert record_count(db) == 1 and len(bus_rows(db)) == 1


def test_an_unselected_call_is_acknowledged_but_not_recorded(
    trails: Trails, objects: ObjectStore, db: Database
) -> None:
    trails.ensure(trail_request("arn:aws:s3:::data/"))
    put(objects, "other", "a.csv")
    assert trails.relay() == 1
    assert record_count(db) == 0 and bus_rows(db) == []
    assert outbox.pending(db.conn, CALLS_TOPIC) == 0
    assert trails.relay() == 0


def test_without_any_trail_calls_are_acknowledged_and_dropped(
    trails: Trails, objects: ObjectStore, db: Database
) -> None:
    put(objects, "data", "a.csv")
    assert trails.relay() == 1
    assert record_count(db) == 0 and bus_rows(db) == []
    assert outbox.pending(db.conn, CALLS_TOPIC) == 0


def test_key_prefix_selects_within_the_bucket(
    trails: Trails, objects: ObjectStore, db: Database
) -> None:
    trails.ensure(trail_request("arn:aws:s3:::data/incoming/"))
    for key in ("incoming/1.csv", "archive/2.csv", "incoming/sub/3.csv"):
        put(objects, "data", key)
    assert trails.relay() == 3
    assert [m["event"]["detail"]["requestParameters"]["key"] for m in bus_rows(db)] == [
        "incoming/1.csv",
        "incoming/sub/3.csv",
    ]


def test_a_read_only_trail_logs_no_writes(
    trails: Trails, objects: ObjectStore, db: Database
) -> None:
    trails.ensure(trail_request("arn:aws:s3", rw="ReadOnly"))
    put(objects, "data", "a.csv")
    assert trails.relay() == 1
    assert record_count(db) == 0 and bus_rows(db) == []


def test_a_call_selected_by_two_trails_is_published_once(
    trails: Trails, objects: ObjectStore, db: Database
) -> None:
    trails.ensure(trail_request("arn:aws:s3:::data/", name="one"))
    trails.ensure(trail_request("arn:aws:s3", name="two", rw="All"))
    put(objects, "data", "a.csv")
    assert trails.relay() == 1
    assert record_count(db) == 1 and len(bus_rows(db)) == 1


def test_calls_are_published_in_the_order_they_were_made(
    trails: Trails, objects: ObjectStore, db: Database
) -> None:
    trails.ensure(trail_request("arn:aws:s3"))
    put(objects, "data", "1")
    objects.copy_object(("data", "1"), "other", "2", None, CTX)
    objects.delete_object("data", "1", CTX)
    assert trails.relay() == 3
    details = [m["event"]["detail"] for m in bus_rows(db)]
    assert [
        (d["eventName"], d["requestParameters"]["bucketName"], d["requestParameters"]["key"])
        for d in details
    ] == [
        ("PutObject", "data", "1"),
        ("CopyObject", "other", "2"),
        ("DeleteObject", "data", "1"),
    ]
    assert details[1]["requestParameters"]["x-amz-copy-source"] == "data/1"
    assert [r["eventName"] for r in trails.recent()] == ["DeleteObject", "CopyObject", "PutObject"]


def test_complete_multipart_upload_is_recorded_with_its_upload_id(
    trails: Trails, objects: ObjectStore, db: Database
) -> None:
    trails.ensure(trail_request("arn:aws:s3:::data/"))
    multipart = Multipart(objects)
    upload = multipart.create("data", "big.bin", Attributes(), None)
    data = b"only part"
    part = multipart.upload_part(
        "data",
        "big.bin",
        upload.upload_id,
        1,
        data,
        Digests(len(data), hashlib.md5(data).digest(), None, None, None),
    )
    multipart.complete("data", "big.bin", upload.upload_id, [(1, part.etag)], CTX)
    assert trails.relay() == 1
    [message] = bus_rows(db)
    params = message["event"]["detail"]["requestParameters"]
    assert message["event"]["detail"]["eventName"] == "CompleteMultipartUpload"
    assert params == {
        "bucketName": "data",
        "Host": "h",
        "key": "big.bin",
        "uploadId": upload.upload_id,
    }


def test_relay_honours_its_limit(trails: Trails, objects: ObjectStore, db: Database) -> None:
    trails.ensure(trail_request("arn:aws:s3:::data/"))
    for i in range(3):
        put(objects, "data", f"k{i}")
    assert trails.relay(limit=2) == 2
    assert outbox.pending(db.conn, CALLS_TOPIC) == 1
    assert trails.relay(limit=2) == 1
    assert [m["event"]["detail"]["requestParameters"]["key"] for m in bus_rows(db)] == [
        "k0",
        "k1",
        "k2",
    ]


def test_a_trail_change_applies_to_the_next_relay(
    trails: Trails, objects: ObjectStore, db: Database
) -> None:
    trails.ensure(trail_request("arn:aws:s3:::data/"))
    put(objects, "other", "before")
    trails.relay()
    trails.ensure(trail_request("arn:aws:s3:::other/"))
    put(objects, "other", "after")
    trails.relay()
    assert [m["event"]["detail"]["requestParameters"]["key"] for m in bus_rows(db)] == ["after"]


def test_relay_leaves_the_buckets_own_eventbridge_events_alone(
    trails: Trails, objects: ObjectStore, db: Database
) -> None:
    objects.create_bucket("ebb", "us-east-1", eventbridge=True)
    trails.ensure(trail_request("arn:aws:s3:::ebb/"))
    put(objects, "ebb", "k")
    assert outbox.pending(db.conn, BUS_TOPIC) == 1  # S3's "Object Created"
    assert trails.relay() == 1
    assert [m["event"]["detail-type"] for m in bus_rows(db)] == [
        "Object Created",
        "AWS API Call via CloudTrail",
    ]
    assert outbox.pending(db.conn, BUS_TOPIC) == 2


def test_recent_returns_newest_first_up_to_the_limit(
    trails: Trails, objects: ObjectStore, clock: FakeClock
) -> None:
    trails.ensure(trail_request("arn:aws:s3:::data/"))
    for i in range(4):
        put(objects, "data", f"k{i}")
        clock.advance(1)
    trails.relay()
    assert [r["requestParameters"]["key"] for r in trails.recent(limit=2)] == ["k3", "k2"]


# -- failure: one transaction ----------------------------------------------------------------------


class Boom(Exception):
    pass


def test_a_failed_relay_rolls_back_and_leaves_every_call_pending(
    trails: Trails, objects: ObjectStore, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    trails.ensure(trail_request("arn:aws:s3:::data/"))
    put(objects, "data", "first")
    put(objects, "data", "second")
    real = trail_service.bus_event
    seen: list[str] = []

    def fail_on_second(record: dict[str, Any], account: str) -> dict[str, Any]:
        seen.append(record["requestParameters"]["key"])
        if len(seen) == 2:
            raise Boom
        return real(record, account)

    monkeypatch.setattr(trail_service, "bus_event", fail_on_second)
    with pytest.raises(Boom):
        trails.relay()
    # the first call's record and event were rolled back with the failed second one
    assert record_count(db) == 0 and bus_rows(db) == []
    assert outbox.pending(db.conn, CALLS_TOPIC) == 2
    claimed = db.conn.execute(
        "SELECT count(*) AS n FROM outbox WHERE topic = ? AND claimed_at IS NOT NULL",
        (CALLS_TOPIC,),
    ).fetchone()["n"]
    assert claimed == 0  # the claim was rolled back too: no lease to wait out

    monkeypatch.setattr(trail_service, "bus_event", real)
    assert trails.relay() == 2
    assert [m["event"]["detail"]["requestParameters"]["key"] for m in bus_rows(db)] == [
        "first",
        "second",
    ]
    assert record_count(db) == 2
    assert trails.relay() == 0
