"""Does a trail log a given S3 object call? Basic event selectors, as CloudTrail applies them (pure)."""

from __future__ import annotations

from s3batch.trail.models import DataResource, EventSelector, Trail

_S3_OBJECT = "AWS::S3::Object"
#: Values that select the objects of every bucket.
_ALL_BUCKETS = ("arn:aws:s3", "arn:aws:s3:::")


def _resource_selects(resource: DataResource, bucket: str, key: str) -> bool:
    if resource.type != _S3_OBJECT:
        return False
    arn = f"arn:aws:s3:::{bucket}/{key}"
    return any(
        v in _ALL_BUCKETS or (v.startswith("arn:aws:s3:::") and arn.startswith(v))
        for v in resource.values
    )


def _selector_selects(selector: EventSelector, bucket: str, key: str, read_only: bool) -> bool:
    wanted = {"All": True, "ReadOnly": read_only, "WriteOnly": not read_only}.get(
        selector.read_write_type, False
    )
    return wanted and any(_resource_selects(r, bucket, key) for r in selector.data_resources)


def selects(trail: Trail, bucket: str, key: str, read_only: bool) -> bool:
    """True when one of the trail's selectors logs this object call.

    A value ``arn:aws:s3:::bucket/`` selects every object of the bucket; a longer value is
    a key prefix (``arn:aws:s3:::bucket/incoming/``); ``arn:aws:s3`` selects all buckets.
    """
    return any(_selector_selects(s, bucket, key, read_only) for s in trail.selectors)
