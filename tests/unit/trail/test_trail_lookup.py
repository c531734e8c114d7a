"""LookupEvents over the trail's records: attributes, time range, paging."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from s3batch.clock import FakeClock
from s3batch.state.db import Database
from s3batch.trail import store
from s3batch.trail.lookup import InvalidLookupAttributesException, attribute_filter, summary
from s3batch.trail.records import cloudtrail_record
from s3batch.trail.service import Trails

ACCOUNT = "123456789012"


def record(key: str, minute: int, name: str = "PutObject") -> dict[str, object]:
    call = {
        "bucket": "b",
        "key": key,
        "eventName": name,
        "eventTime": f"2026-01-01T00:{minute:02d}:00Z",
        "accessKeyId": "AK",
    }
    return cloudtrail_record(call, ACCOUNT)


@pytest.fixture
def trails(db: Database) -> Trails:
    with db.transaction() as conn:
        for i in range(7):
            store.add_record(conn, record(f"k{i}", i, "PutObject" if i % 2 else "CopyObject"))
    return Trails(db, FakeClock(datetime(2026, 1, 1, tzinfo=UTC)), "us-east-1", ACCOUNT)


def keys(records: list[dict[str, object]]) -> list[str]:
    return [r["requestParameters"]["key"] for r in records]  # type: ignore[index]


def test_newest_first_in_pages(trails: Trails) -> None:
    everything = attribute_filter([])
    page, after = trails.lookup(everything, None, None, 3)
    assert keys(page) == ["k6", "k5", "k4"]
    page, after = trails.lookup(everything, None, None, 3, after)
    assert keys(page) == ["k3", "k2", "k1"]
    page, after = trails.lookup(everything, None, None, 3, after)
    assert (keys(page), after) == (["k0"], None)


def test_attributes_and_time_range(trails: Trails) -> None:
    puts = attribute_filter([{"AttributeKey": "EventName", "AttributeValue": "PutObject"}])
    assert keys(trails.lookup(puts, None, None, 50)[0]) == ["k5", "k3", "k1"]
    start, end = datetime(2026, 1, 1, 0, 2, tzinfo=UTC), datetime(2026, 1, 1, 0, 4, tzinfo=UTC)
    assert keys(trails.lookup(attribute_filter([]), start, end, 50)[0]) == ["k4", "k3", "k2"]
    by_name = attribute_filter(
        [{"AttributeKey": "ResourceName", "AttributeValue": "arn:aws:s3:::b/k2"}]
    )
    assert keys(trails.lookup(by_name, None, None, 50)[0]) == ["k2"]
    by_key = attribute_filter([{"AttributeKey": "AccessKeyId", "AttributeValue": "AK"}])
    assert len(trails.lookup(by_key, None, None, 50)[0]) == 7


def test_one_known_attribute_at_most() -> None:
    with pytest.raises(InvalidLookupAttributesException):
        attribute_filter([{"AttributeKey": "EventName", "AttributeValue": "a"}] * 2)
    with pytest.raises(InvalidLookupAttributesException):
        attribute_filter([{"AttributeKey": "Color", "AttributeValue": "a"}])


def test_summary_shape() -> None:
    rec = record("k", 1)
    out = summary(rec)
    assert out["EventId"] == rec["eventID"] and out["ReadOnly"] == "false"
    assert out["Resources"] == [
        {"ResourceType": "AWS::S3::Bucket", "ResourceName": "b"},
        {"ResourceType": "AWS::S3::Object", "ResourceName": "arn:aws:s3:::b/k"},
    ]
    assert out["EventTime"] == datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
