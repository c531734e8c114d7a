"""Object operations: put, get (with Range), head, delete, copy, delete-many."""

from __future__ import annotations

from urllib.parse import unquote

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from s3batch.api.http import Response
from s3batch.api.s3 import body as bodies
from s3batch.api.s3.call import Call, attributes_from, small_write, stored_headers
from s3batch.api.s3.errors import NotImplementedYet
from s3batch.api.s3.ranges import byte_range, check_conditions, http_date, part_range
from s3batch.api.s3.xml import MalformedXML, document, element, iso, parse
from s3batch.errors import S3BatchError
from s3batch.objectstore.checksums import BodyDigest, check, header_name
from s3batch.objectstore.errors import InvalidArgument, InvalidRequest
from s3batch.objectstore.models import ObjectMeta, WriteCondition

#: GetObject's ``response-*`` query parameters and the response header each one sets.
RESPONSE_OVERRIDES = {
    "response-content-type": "content-type",
    "response-content-language": "content-language",
    "response-expires": "expires",
    "response-cache-control": "cache-control",
    "response-content-disposition": "content-disposition",
    "response-content-encoding": "content-encoding",
}


def _object_headers(call: Call, obj: ObjectMeta) -> list[tuple[str, str]]:
    attrs = obj.attributes
    headers = [
        *call.base_headers(),
        ("etag", obj.etag),
        ("last-modified", http_date(obj.last_modified)),
        ("accept-ranges", "bytes"),
        *stored_headers(attrs),
    ]
    headers.extend((f"x-amz-meta-{k}", v) for k, v in attrs.metadata.items())
    query = call.request.query
    wanted = {header: query[name] for name, header in RESPONSE_OVERRIDES.items() if name in query}
    return [(name, value) for name, value in headers if name not in wanted] + list(wanted.items())


def write_condition(headers: dict[str, str]) -> WriteCondition | None:
    """PutObject's ``If-Match`` / ``If-None-Match: *``; None when the write is unconditional.

    Raises:
        NotImplementedYet: ``If-None-Match`` with anything but ``*`` (S3 supports only that).
    """
    if_match, if_none = headers.get("if-match"), headers.get("if-none-match")
    if if_none is not None and if_none.strip() != "*":
        raise NotImplementedYet(
            "A header you provided implies functionality that is not implemented: "
            "PutObject supports only If-None-Match: *",
            Header="If-None-Match",
        )
    if if_match is None and if_none is None:
        return None
    return WriteCondition(if_match, if_none is not None)


def _checksum_headers(call: Call, obj: ObjectMeta) -> list[tuple[str, str]]:
    if (
        obj.checksum is None
        or call.request.headers.get("x-amz-checksum-mode", "").upper() != "ENABLED"
    ):
        return []
    return [
        (header_name(obj.checksum.algorithm), obj.checksum.value),
        ("x-amz-checksum-type", obj.checksum.type),
    ]


async def put_object(call: Call) -> Response:
    """PutObject: acknowledged only once the bytes and the metadata are durable."""
    objects = call.services.objects
    objects.bucket(call.bucket)
    condition = write_condition(call.request.headers)
    received = await bodies.receive(call.request, call.verified, objects.blobs.writer)
    attrs = attributes_from(call.request.headers)
    args = (call.bucket, call.key, received.body, received.digests, attrs, call.ctx)
    args += ("PutObject", condition)
    obj = (
        await small_write(objects.put_object, *args)
        if isinstance(received.body, bytes)
        else (await run_in_threadpool(objects.put_object, *args))
    )
    headers = [*call.base_headers(), ("etag", obj.etag)]
    if obj.checksum:
        headers.append((header_name(obj.checksum.algorithm), obj.checksum.value))
    return Response(200, headers)


async def get_object(call: Call, head: bool = False) -> Response:
    """GetObject / HeadObject with Range and conditional headers."""
    objects = call.services.objects
    fetch = objects.head_object if head else objects.get_object
    obj = fetch(call.bucket, call.key)
    headers = call.request.headers
    check_conditions(headers, obj)
    number = call.request.query.get("partNumber")
    out = _object_headers(call, obj)
    if number is not None:
        if "range" in headers:
            raise InvalidRequest("Cannot specify both Range header and partNumber query parameter.")
        span, count = part_range(obj, number)
        if count > 1:
            out.append(("x-amz-mp-parts-count", str(count)))
    else:
        span = byte_range(headers.get("range"), obj.size)
    if span is None:
        out += [*_checksum_headers(call, obj), ("content-length", str(obj.size))]
        status, (start, end) = 200, (0, obj.size)
    else:
        start, end = span
        out += [
            ("content-range", f"bytes {start}-{end - 1}/{obj.size}"),
            ("content-length", str(end - start)),
        ]
        status = 206
    if head:
        return Response(status, out)
    if obj.inline is not None:
        return Response(status, out, obj.inline[start:end])
    return Response(status, out, stream=iterate_in_threadpool(objects.read(obj, start, end)))


async def delete_object(call: Call) -> Response:
    """DeleteObject: 204 whether or not the key existed."""
    await small_write(call.services.objects.delete_object, call.bucket, call.key, call.ctx)
    return Response(204, call.base_headers())


def copy_source(header: str) -> tuple[str, str]:
    """Parse ``x-amz-copy-source`` (URL-encoded ``bucket/key``, optional leading slash)."""
    source = unquote(header.split("?versionId=", 1)[0]).lstrip("/")
    bucket, _, key = source.partition("/")
    if not bucket or not key:
        raise InvalidArgument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            ArgumentName="x-amz-copy-source",
        )
    return bucket, key


async def copy_object(call: Call) -> Response:
    """CopyObject (metadata directive COPY or REPLACE, copy-source conditions)."""
    headers = call.request.headers
    source = copy_source(headers["x-amz-copy-source"])
    directive = headers.get("x-amz-metadata-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise InvalidArgument(
            "Unknown metadata directive.", ArgumentName="x-amz-metadata-directive"
        )
    objects = call.services.objects
    src = objects.head_object(*source)
    check_conditions(headers, src, prefix="x-amz-copy-source-")
    attrs = attributes_from(headers) if directive == "REPLACE" else None
    obj = await run_in_threadpool(
        objects.copy_object, source, call.bucket, call.key, attrs, call.ctx
    )
    inner = element("LastModified", iso(obj.last_modified)) + element("ETag", obj.etag)
    return Response(
        200,
        [*call.base_headers(), ("content-type", "application/xml")],
        document("CopyObjectResult", inner),
    )


async def delete_objects(call: Call) -> Response:
    """DeleteObjects: up to 1000 keys, each reported as deleted or failed.

    The body must come with its Content-MD5 or a checksum header (S3 requires one), and
    the bucket must exist (else the whole request fails, 404).
    """
    call.services.objects.bucket(call.bucket)
    raw = await call.request.body()
    digest = BodyDigest(
        want_sha256=False, checksum_algorithm=bodies.checksum_algorithm(call.request.headers)
    )
    digest.update(raw)
    digests = digest.result()
    name = header_name(digests.checksum_algorithm) if digests.checksum_algorithm else ""
    if "content-md5" not in call.request.headers and not name:
        raise InvalidRequest("Missing required header for this request: Content-MD5")
    check(
        digests,
        content_md5=call.request.headers.get("content-md5"),
        checksum=call.request.headers.get(name) if name else None,
    )
    root = parse(raw)
    keys = [node.findtext("Key") or "" for node in root.findall("Object")]
    if not keys:
        raise MalformedXML()
    if len(keys) > 1000:
        raise InvalidRequest("The request contains more than 1000 keys.")
    quiet = (root.findtext("Quiet") or "").lower() == "true"
    results = []
    for key in keys:
        try:
            await run_in_threadpool(call.services.objects.delete_object, call.bucket, key, call.ctx)
            results.append("" if quiet else f"<Deleted>{element('Key', key)}</Deleted>")
        except S3BatchError as exc:
            results.append(
                f"<Error>{element('Key', key)}{element('Code', exc.code)}{element('Message', exc.message)}</Error>"
            )
    return Response(
        200,
        [*call.base_headers(), ("content-type", "application/xml")],
        document("DeleteResult", results),
    )
