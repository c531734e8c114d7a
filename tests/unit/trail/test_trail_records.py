"""CloudTrail records of S3 object calls and the EventBridge events carrying them (pure).

Shapes are checked against AWS's own events in /work/shared/reference/events.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from s3batch.events.matcher import matches_pattern
from s3batch.objectstore.models import Attributes, ObjectMeta
from s3batch.objectstore.records import api_call
from s3batch.trail.records import bus_event, cloudtrail_record
from s3batch.types import RequestContext

REFERENCE = Path("/work/shared/reference/events")
PUT_REF = json.loads((REFERENCE / "cloudtrail_putobject_via_eventbridge.json").read_text())
MPU_REF = json.loads(
    (REFERENCE / "cloudtrail_completemultipartupload_via_eventbridge.json").read_text()
)
PATTERNS = json.loads((REFERENCE / "eventbridge_rule_patterns.json").read_text())

ACCOUNT = "111122223333"
KEY = "incoming/Q3 report+final (1).csv"  # spaces, '+' and parentheses stay raw
WHEN = datetime(2026, 11, 28, 4, 0, 0, tzinfo=UTC)
CTX = RequestContext(
    request_id="CF9748DFDC5FB0A4",
    access_key_id="AKIAIOSFODNN7EXAMPLE",
    source_ip="192.0.2.10",
    user_agent="aws-cli/1.45.11",
    region="us-east-1",
    host="demo-bucket.s3.us-east-1.amazonaws.com",
)


def call(
    event_name: str = "PutObject",
    key: str = KEY,
    ctx: RequestContext = CTX,
    when: datetime = WHEN,
    **extra: object,
) -> dict[str, Any]:
    """An outbox ``s3.api_call`` payload as the object store writes it."""
    obj = ObjectMeta(
        "demo-bucket", key, 1024, '"7265f4d211b56873a381d321f586e4a9"', when, Attributes()
    )
    return api_call(event_name, obj, ctx, when, **extra)


def call_like(reference: dict[str, Any], **extra: object) -> dict[str, Any]:
    """The call behind a reference event: same request id, time, key and caller."""
    ref = reference["detail"]
    ctx = RequestContext(
        request_id=ref["requestID"],
        access_key_id=ref["userIdentity"]["accessKeyId"],
        source_ip=ref["sourceIPAddress"],
        region=ref["awsRegion"],
        host=ref["requestParameters"]["Host"],
    )
    when = datetime.strptime(ref["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return call(ref["eventName"], ref["requestParameters"]["key"], ctx, when, **extra)


# -- the record -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "extra"),
    [(PUT_REF, {}), (MPU_REF, {"uploadId": MPU_REF["detail"]["requestParameters"]["uploadId"]})],
    ids=["PutObject", "CompleteMultipartUpload"],
)
def test_record_has_the_fields_aws_records_have(
    reference: dict[str, Any], extra: dict[str, object]
) -> None:
    ref = reference["detail"]
    record = cloudtrail_record(call_like(reference, **extra), ACCOUNT)
    # TLS details describe the HTTPS connection; s3batch speaks plain HTTP.
    assert set(ref) - {"tlsDetails"} <= set(record)
    assert set(record["userIdentity"]) == set(ref["userIdentity"])
    assert set(record["requestParameters"]) == set(ref["requestParameters"])
    assert record["resources"] == ref["resources"]
    for field in (
        "eventVersion",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "readOnly",
        "eventType",
        "managementEvent",
        "recipientAccountId",
        "eventCategory",
        "requestID",
        "eventTime",
    ):
        assert record[field] == ref[field], field
    assert record["requestParameters"] == ref["requestParameters"]
    assert record["userIdentity"]["accountId"] == ACCOUNT
    assert record["userIdentity"]["accessKeyId"] == CTX.access_key_id


def test_request_parameters_carry_the_raw_key_not_url_encoded() -> None:
    record = cloudtrail_record(call(key="a b/c+d%20e&f=ü.csv"), ACCOUNT)
    assert record["requestParameters"]["key"] == "a b/c+d%20e&f=ü.csv"
    assert record["requestParameters"]["bucketName"] == "demo-bucket"
    assert record["resources"][0]["ARN"] == "arn:aws:s3:::demo-bucket/a b/c+d%20e&f=ü.csv"


def test_copy_object_record_names_its_source() -> None:
    record = cloudtrail_record(
        call("CopyObject", "dst.csv", source="src-bucket/a b+c.csv"), ACCOUNT
    )
    assert record["eventName"] == "CopyObject"
    assert record["requestParameters"] == {
        "bucketName": "demo-bucket",
        "Host": CTX.host,
        "key": "dst.csv",
        "x-amz-copy-source": "src-bucket/a b+c.csv",
    }


def test_only_put_object_counts_bytes_in() -> None:
    assert (
        cloudtrail_record(call("PutObject"), ACCOUNT)["additionalEventData"]["bytesTransferredIn"]
        == 1024
    )
    for name in ("CopyObject", "CompleteMultipartUpload", "DeleteObject"):
        assert (
            cloudtrail_record(call(name), ACCOUNT)["additionalEventData"]["bytesTransferredIn"] == 0
        )


def test_user_agent_is_bracketed_and_host_defaults_to_loopback() -> None:
    bare = {
        "eventName": "DeleteObject",
        "eventTime": "2026-01-01T00:00:00Z",
        "bucket": "b",
        "key": "k",
    }
    record = cloudtrail_record(bare, ACCOUNT)
    assert record["userAgent"] == "[]"
    assert record["requestParameters"] == {"bucketName": "b", "Host": "127.0.0.1", "key": "k"}
    assert record["awsRegion"] == "us-east-1"
    assert cloudtrail_record(call(), ACCOUNT)["userAgent"] == "[aws-cli/1.45.11]"


def test_each_record_gets_its_own_event_id() -> None:
    ids = {cloudtrail_record(call(), ACCOUNT)["eventID"] for _ in range(5)}
    assert len(ids) == 5


def test_record_is_json() -> None:
    record = cloudtrail_record(call(), ACCOUNT)
    assert json.loads(json.dumps(record)) == record


# -- the EventBridge event ----------------------------------------------------------------------


def test_bus_event_has_the_envelope_aws_sends() -> None:
    record = cloudtrail_record(call_like(PUT_REF), ACCOUNT)
    event = bus_event(record, ACCOUNT)
    assert set(event) == set(PUT_REF)
    assert {k: v for k, v in event.items() if k not in ("id", "detail")} == {
        k: v for k, v in PUT_REF.items() if k not in ("id", "detail")
    }
    assert event["detail-type"] == "AWS API Call via CloudTrail"
    assert event["source"] == "aws.s3"
    assert event["resources"] == []
    assert event["version"] == "0"
    assert (event["account"], event["region"]) == (ACCOUNT, "us-east-1")
    assert event["time"] == record["eventTime"] == "2026-11-28T04:00:00Z"
    assert event["detail"] == record
    assert event["id"] != record["eventID"]


@pytest.mark.parametrize("name", ["PutObject", "CopyObject", "CompleteMultipartUpload"])
def test_the_correct_reference_rule_matches_our_events_for_every_write(name: str) -> None:
    pattern = PATTERNS["cloudtrail_object_written_CORRECT"]
    assert matches_pattern(pattern, PUT_REF)  # the oracle: AWS's own event matches
    assert matches_pattern(pattern, bus_event(cloudtrail_record(call(name), ACCOUNT), ACCOUNT))


def test_the_reference_rule_does_not_match_a_delete() -> None:
    pattern = PATTERNS["cloudtrail_object_written_CORRECT"]
    assert not matches_pattern(
        pattern, bus_event(cloudtrail_record(call("DeleteObject"), ACCOUNT), ACCOUNT)
    )
