"""Multipart upload operations: create, upload part (and part copy), complete, abort, list parts."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool

from s3batch.api.http import Response
from s3batch.api.s3 import body as bodies
from s3batch.api.s3.call import Call, attributes_from
from s3batch.api.s3.objects import copy_source, write_condition
from s3batch.api.s3.ranges import check_conditions, copy_range
from s3batch.api.s3.xml import document, element, iso, parse
from s3batch.objectstore.checksums import BodyDigest, header_name, normalise_algorithm
from s3batch.objectstore.errors import InvalidArgument
from s3batch.objectstore.models import ObjectMeta, Part
from s3batch.objectstore.multipart import PART_NUMBERS

_XML = ("content-type", "application/xml")


async def create_multipart_upload(call: Call) -> Response:
    """CreateMultipartUpload."""
    algorithm = call.request.headers.get("x-amz-checksum-algorithm")
    algorithm = normalise_algorithm(algorithm) if algorithm else None
    attrs = attributes_from(call.request.headers)
    upload = await run_in_threadpool(
        call.services.multipart.create, call.bucket, call.key, attrs, algorithm
    )
    inner = (
        element("Bucket", call.bucket)
        + element("Key", call.key)
        + element("UploadId", upload.upload_id)
    )
    headers = [*call.base_headers(), _XML]
    if algorithm:
        headers.append(("x-amz-checksum-algorithm", algorithm))
    return Response(200, headers, document("InitiateMultipartUploadResult", inner))


def _part_number(call: Call) -> int:
    raw = call.request.query.get("partNumber", "")
    if not raw.isdigit() or int(raw) not in PART_NUMBERS:
        raise InvalidArgument(
            "Part number must be an integer between 1 and 10000, inclusive",
            ArgumentName="partNumber",
            ArgumentValue=raw,
        )
    return int(raw)


async def upload_part(call: Call) -> Response:
    """UploadPart."""
    number, upload_id = _part_number(call), call.request.query["uploadId"]
    multipart = call.services.multipart
    multipart.upload(call.bucket, call.key, upload_id)
    received = await bodies.receive(call.request, call.verified, multipart.objects.blobs.writer)
    part = await run_in_threadpool(
        multipart.upload_part,
        call.bucket,
        call.key,
        upload_id,
        number,
        received.body,
        received.digests,
    )
    headers = [*call.base_headers(), ("etag", part.etag)]
    if received.digests.checksum_algorithm and part.checksum_value:
        headers.append((header_name(received.digests.checksum_algorithm), part.checksum_value))
    return Response(200, headers)


async def upload_part_copy(call: Call) -> Response:
    """UploadPartCopy: a part whose bytes come from (a range of) an existing object."""
    number, upload_id = _part_number(call), call.request.query["uploadId"]
    headers = call.request.headers
    source = copy_source(headers["x-amz-copy-source"])
    services = call.services
    upload = services.multipart.upload(call.bucket, call.key, upload_id)
    src = services.objects.get_object(*source)  # with a small object's bytes
    check_conditions(headers, src, prefix="x-amz-copy-source-")
    start, end = copy_range(headers.get("x-amz-copy-source-range"), src.size)
    part = await run_in_threadpool(
        _copy_part, call, src, start, end, upload.checksum_algorithm, number, upload_id
    )
    inner = element("LastModified", iso(part.last_modified)) + element("ETag", part.etag)
    return Response(200, [*call.base_headers(), _XML], document("CopyPartResult", inner))


def _copy_part(
    call: Call,
    src: ObjectMeta,
    start: int,
    end: int,
    algorithm: str | None,
    number: int,
    upload_id: str,
) -> Part:
    objects = call.services.objects
    digest = BodyDigest(want_sha256=False, checksum_algorithm=algorithm)
    writer = objects.blobs.writer()
    for piece in objects.read(src, start, end):
        digest.update(piece)
        writer.write(piece)
    return call.services.multipart.upload_part(
        call.bucket, call.key, upload_id, number, writer, digest.result()
    )


async def complete_multipart_upload(call: Call) -> Response:
    """CompleteMultipartUpload: the object appears at once, assembled in part order."""
    upload_id = call.request.query["uploadId"]
    condition = write_condition(call.request.headers)
    root = parse(await call.request.body())
    chosen = []
    for node in root.findall("Part"):
        number, etag = node.findtext("PartNumber"), node.findtext("ETag")
        if not number or not number.strip().isdigit() or etag is None:
            raise InvalidArgument("Each Part needs a PartNumber and an ETag.", ArgumentName="Part")
        chosen.append((int(number), etag.strip()))
    obj = await run_in_threadpool(
        call.services.multipart.complete, call.bucket, call.key, upload_id, chosen, call.ctx,
        condition,
    )  # fmt: skip
    inner = (
        element("Location", f"/{call.bucket}/{call.key}")
        + element("Bucket", call.bucket)
        + element("Key", call.key)
        + element("ETag", obj.etag)
    )
    if obj.checksum:
        inner += element(f"Checksum{obj.checksum.algorithm}", obj.checksum.value) + element(
            "ChecksumType", obj.checksum.type
        )
    return Response(
        200, [*call.base_headers(), _XML], document("CompleteMultipartUploadResult", inner)
    )


async def abort_multipart_upload(call: Call) -> Response:
    """AbortMultipartUpload: the parts are deleted."""
    upload_id = call.request.query["uploadId"]
    await run_in_threadpool(call.services.multipart.abort, call.bucket, call.key, upload_id)
    return Response(204, call.base_headers())


async def list_parts(call: Call) -> Response:
    """ListParts (one page)."""
    upload_id = call.request.query["uploadId"]
    parts = await run_in_threadpool(call.services.multipart.parts, call.bucket, call.key, upload_id)
    items = "".join(
        f"<Part>{element('PartNumber', p.part_number)}{element('LastModified', iso(p.last_modified))}"
        f"{element('ETag', p.etag)}{element('Size', p.size)}</Part>"
        for p in parts
    )
    inner = (
        element("Bucket", call.bucket)
        + element("Key", call.key)
        + element("UploadId", upload_id)
        + element("IsTruncated", False)
        + element("MaxParts", 1000)
        + items
    )
    return Response(200, [*call.base_headers(), _XML], document("ListPartsResult", inner))
