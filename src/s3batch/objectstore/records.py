"""The facts of an object API call, as written to the outbox for the trail and the bus.

These are s3batch's own records, not yet AWS-shaped: the trail turns them into
CloudTrail records and the bus into S3's "Object Created/Deleted" events.
"""

from __future__ import annotations

from datetime import datetime

from s3batch.objectstore.models import ObjectMeta
from s3batch.types import Json, RequestContext

#: Outbox topic of object API calls.
TOPIC = "s3.api_call"


def api_call(
    event_name: str, obj: ObjectMeta, ctx: RequestContext, now: datetime, **extra: object
) -> Json:
    """The outbox payload of one object-level write call."""
    return {
        "eventName": event_name,
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "bucket": obj.bucket,
        "key": obj.key,
        "size": obj.size,
        "etag": obj.etag.strip('"'),
        "sequencer": f"{int(now.timestamp() * 1_000_000):016X}",
        "requestId": ctx.request_id,
        "accessKeyId": ctx.access_key_id,
        "sourceIPAddress": ctx.source_ip,
        "userAgent": ctx.user_agent,
        "region": ctx.region,
        "host": ctx.host,
        **extra,
    }
