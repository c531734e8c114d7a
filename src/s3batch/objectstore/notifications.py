"""S3's own EventBridge events ("Object Created" / "Object Deleted"), as AWS shapes them (pure).

Sent for buckets with EventBridge enabled, in the same transaction as the write, to the
default event bus (outbox topic :data:`BUS_TOPIC`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from s3batch.objectstore.models import ObjectMeta
from s3batch.types import Json, RequestContext

#: Outbox topic of events for the event bus.
BUS_TOPIC = "events.bus"

_CREATED = {"PutObject", "CopyObject", "CompleteMultipartUpload", "POST Object"}


def object_event(
    reason: str, obj: ObjectMeta, ctx: RequestContext, now: datetime, account: str, sequencer: str
) -> Json:
    """The EventBridge event S3 sends for a write, with ``reason`` the API call's name."""
    detail_type = "Object Created" if reason in _CREATED else "Object Deleted"
    obj_detail: dict[str, object] = {"key": obj.key, "sequencer": sequencer}
    if detail_type == "Object Created":
        obj_detail = {
            "key": obj.key,
            "size": obj.size,
            "etag": obj.etag.strip('"'),
            "sequencer": sequencer,
        }
    detail: dict[str, object] = {
        "version": "0",
        "bucket": {"name": obj.bucket},
        "object": obj_detail,
        "request-id": ctx.request_id,
        "requester": account,
        "source-ip-address": ctx.source_ip,
        "reason": reason,
    }
    if detail_type == "Object Deleted":
        detail["deletion-type"] = "Permanently Deleted"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": account,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": ctx.region,
        "resources": [f"arn:aws:s3:::{obj.bucket}"],
        "detail": detail,
    }


def bus_message(event: Json, bus: str = "default") -> Json:
    """The outbox payload that puts ``event`` on an event bus."""
    return {"bus": bus, "event": event}
