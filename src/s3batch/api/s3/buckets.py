"""Bucket operations: create, list, head, delete, location, and the object listings."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool

from s3batch.api.http import Response
from s3batch.api.s3.call import Call
from s3batch.api.s3.xml import document, element, iso, parse, url_encoded
from s3batch.objectstore.errors import InvalidArgument, InvalidLocationConstraint
from s3batch.objectstore.models import Listing, ObjectMeta

_XML = ("content-type", "application/xml")
#: The owner of every bucket and object: s3batch serves one account.
OWNER = "<Owner><ID>s3batch</ID><DisplayName>s3batch</DisplayName></Owner>"


async def create_bucket(call: Call) -> Response:
    """CreateBucket (region from CreateBucketConfiguration, else the signing region)."""
    body = await call.request.body()
    region = call.verified.scope.region
    if body.strip():
        constraint = parse(body).find("LocationConstraint")
        if constraint is not None and constraint.text:
            if constraint.text == "us-east-1":  # S3: us-east-1 is asked for by sending none
                raise InvalidLocationConstraint(LocationConstraint=constraint.text)
            region = constraint.text
    await run_in_threadpool(call.services.objects.create_bucket, call.bucket, region)
    return Response(200, [*call.base_headers(), ("location", f"/{call.bucket}")])


async def list_buckets(call: Call) -> Response:
    """ListBuckets."""
    buckets = await run_in_threadpool(call.services.objects.list_buckets)
    items = "".join(
        f"<Bucket>{element('Name', b.name)}{element('CreationDate', iso(b.created_at))}"
        f"{element('BucketRegion', b.region)}</Bucket>"
        for b in buckets
    )
    return Response(
        200,
        [*call.base_headers(), _XML],
        document("ListAllMyBucketsResult", f"{OWNER}<Buckets>{items}</Buckets>"),
    )


async def head_bucket(call: Call) -> Response:
    """HeadBucket."""
    bucket = call.services.objects.bucket(call.bucket)
    return Response(200, [*call.base_headers(), ("x-amz-bucket-region", bucket.region)])


async def delete_bucket(call: Call) -> Response:
    """DeleteBucket."""
    await run_in_threadpool(call.services.objects.delete_bucket, call.bucket)
    return Response(204, call.base_headers())


async def get_bucket_location(call: Call) -> Response:
    """GetBucketLocation (empty for us-east-1, as S3 answers)."""
    bucket = call.services.objects.bucket(call.bucket)
    region = "" if bucket.region == "us-east-1" else bucket.region
    return Response(200, [*call.base_headers(), _XML], document("LocationConstraint", region))


def _max_keys(raw: str | None) -> int:
    if raw is None:
        return 1000
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidArgument(
            "Provided max-keys not an integer or within integer range", ArgumentName="max-keys"
        ) from exc
    if value < 0:
        raise InvalidArgument(
            "Argument maxKeys must be an integer between 0 and 2147483647", ArgumentName="max-keys"
        )
    return value


def _contents(obj: ObjectMeta, encode: bool, owner: bool) -> str:
    checksum = element("ChecksumAlgorithm", obj.checksum.algorithm) if obj.checksum else ""
    return (
        f"<Contents>{element('Key', url_encoded(obj.key, encode))}{element('LastModified', iso(obj.last_modified))}"
        f"{element('ETag', obj.etag)}{checksum}{element('Size', obj.size)}"
        f"<StorageClass>STANDARD</StorageClass>{OWNER if owner else ''}</Contents>"
    )


def _listing_xml(listing: Listing, encode: bool, owner: bool) -> str:
    contents = "".join(_contents(o, encode, owner) for o in listing.contents)
    prefixes = "".join(
        f"<CommonPrefixes>{element('Prefix', url_encoded(p, encode))}</CommonPrefixes>"
        for p in listing.common_prefixes
    )
    return contents + prefixes


async def list_objects(call: Call, v2: bool) -> Response:
    """ListObjectsV2 (``list-type=2``) and the original ListObjects.

    Each object's Owner is listed by ListObjects always, by ListObjectsV2 only with
    ``fetch-owner=true``, as S3 does.
    """
    q = call.request.query
    encode = q.get("encoding-type") == "url"
    if "encoding-type" in q and not encode:
        raise InvalidArgument(
            "Invalid Encoding Method specified in Request", ArgumentName="encoding-type"
        )
    prefix, delimiter, max_keys = (
        q.get("prefix", ""),
        q.get("delimiter", ""),
        _max_keys(q.get("max-keys")),
    )
    after = q.get("start-after") if v2 else q.get("marker")
    token = q.get("continuation-token") if v2 else None
    listing = await run_in_threadpool(
        call.services.objects.list_objects, call.bucket, prefix, delimiter, max_keys, after, token
    )
    head = (
        element("Name", call.bucket)
        + element("Prefix", url_encoded(prefix, encode))
        + (element("Delimiter", url_encoded(delimiter, encode)) if delimiter else "")
        + element("MaxKeys", max_keys)
        + (element("EncodingType", "url") if encode else "")
        + element("IsTruncated", listing.is_truncated)
    )
    if v2:
        head += element("KeyCount", len(listing.contents) + len(listing.common_prefixes))
        head += element("ContinuationToken", token) + element(
            "NextContinuationToken", listing.next_token
        )
        head += element("StartAfter", url_encoded(after, encode))
    else:
        head += element("Marker", url_encoded(after or "", encode))
        if listing.is_truncated and delimiter:
            last = max([o.key for o in listing.contents] + listing.common_prefixes)
            head += element("NextMarker", url_encoded(last, encode))
    owner = not v2 or q.get("fetch-owner", "").lower() == "true"
    body = document("ListBucketResult", head + _listing_xml(listing, encode, owner))
    return Response(200, [*call.base_headers(), _XML], body)


async def list_multipart_uploads(call: Call) -> Response:
    """ListMultipartUploads (all uploads of the bucket, one page)."""
    uploads = await run_in_threadpool(call.services.multipart.list_uploads, call.bucket)
    items = "".join(
        f"<Upload>{element('Key', u.key)}{element('UploadId', u.upload_id)}"
        f"{element('Initiated', iso(u.initiated))}<StorageClass>STANDARD</StorageClass></Upload>"
        for u in uploads
    )
    inner = (
        element("Bucket", call.bucket)
        + element("IsTruncated", False)
        + element("MaxUploads", 1000)
        + items
    )
    return Response(
        200, [*call.base_headers(), _XML], document("ListMultipartUploadsResult", inner)
    )
