"""LookupEvents over the logged CloudTrail records: lookup attributes and the event summary (pure)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from s3batch.errors import InvalidRequest
from s3batch.types import Json

#: LookupEvents returns at most this many events per page.
MAX_RESULTS = 50


class InvalidLookupAttributesException(InvalidRequest):
    """Occurs when a lookup attribute is specified that is not valid."""

    code = "InvalidLookupAttributesException"


def resources(record: Json) -> list[Json]:
    """The ``Resources`` of a record's summary: the bucket by name, the object by ARN."""
    params = record.get("requestParameters") or {}
    out = [{"ResourceType": "AWS::S3::Bucket", "ResourceName": params.get("bucketName", "")}]
    for resource in record.get("resources") or []:
        if resource.get("type") == "AWS::S3::Object":
            out.append({"ResourceType": "AWS::S3::Object", "ResourceName": resource.get("ARN", "")})
    return out


def _names(record: Json) -> set[str]:
    params = record.get("requestParameters") or {}
    arns = {r.get("ARN", "") for r in record.get("resources") or []}
    return {params.get("bucketName", ""), params.get("key", ""), *arns}


def _identity(record: Json, field: str) -> str:
    return str((record.get("userIdentity") or {}).get(field, ""))


#: What each AttributeKey compares with the AttributeValue.
ATTRIBUTES: dict[str, Callable[[Json, str], bool]] = {
    "EventId": lambda r, v: r.get("eventID") == v,
    "EventName": lambda r, v: r.get("eventName") == v,
    "EventSource": lambda r, v: r.get("eventSource") == v,
    "ReadOnly": lambda r, v: str(bool(r.get("readOnly"))).lower() == v.lower(),
    "Username": lambda r, v: _identity(r, "userName") == v,
    "AccessKeyId": lambda r, v: _identity(r, "accessKeyId") == v,
    "ResourceType": lambda r, v: any(x["ResourceType"] == v for x in resources(r)),
    "ResourceName": lambda r, v: v in _names(r),
}


def attribute_filter(attributes: list[Json]) -> Callable[[Json], bool]:
    """The test for LookupAttributes (at most one, as CloudTrail allows).

    Raises:
        InvalidLookupAttributesException: more than one attribute, or an unknown key.
    """
    if not attributes:
        return lambda _: True
    if len(attributes) > 1:
        raise InvalidLookupAttributesException("You cannot specify more than one lookup attribute.")
    if not isinstance(attributes[0], dict):
        raise InvalidLookupAttributesException(
            "A lookup attribute is {AttributeKey, AttributeValue}."
        )
    key, value = attributes[0].get("AttributeKey"), attributes[0].get("AttributeValue")
    test = ATTRIBUTES.get(str(key))
    if test is None or not isinstance(value, str):
        raise InvalidLookupAttributesException(f"Lookup attribute {key} is not valid.")
    return lambda record: test(record, value)


def event_time(record: Json) -> datetime:
    """When the call was made."""
    return datetime.fromisoformat(str(record["eventTime"]).replace("Z", "+00:00"))


def summary(record: Json) -> Json:
    """A record as LookupEvents lists it (EventTime still a datetime)."""
    return {
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "ReadOnly": str(bool(record.get("readOnly"))).lower(),
        "AccessKeyId": _identity(record, "accessKeyId"),
        "EventTime": event_time(record),
        "EventSource": record.get("eventSource", ""),
        "Username": _identity(record, "userName"),
        "Resources": resources(record),
        "CloudTrailEvent": json.dumps(record),
    }
