"""Receive an upload body: undo aws-chunked framing, hash it, and check what was declared.

The body is kept in memory when it is small and streamed into a blob otherwise; nothing
is committed here. The caller stores it only after :func:`receive` returns, i.e. after
every declared length and digest has matched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from s3batch.api.awschunked import AwsChunkedDecoder
from s3batch.api.http import Request
from s3batch.api.s3.errors import MissingContentLength
from s3batch.api.s3.spool import Spool
from s3batch.api.sigv4 import Verified
from s3batch.objectstore.blobs import BlobWriter
from s3batch.objectstore.checksums import UNSUPPORTED, BodyDigest, Digests, check, header_name
from s3batch.objectstore.errors import EntityTooLarge, IncompleteBody
from s3batch.objectstore.models import INLINE_MAX
from s3batch.objectstore.service import Body

#: Largest single PUT S3 accepts (5 GiB).
MAX_PUT_SIZE = 5 * 1024**3
_ALGORITHMS = ("crc32", "sha1", "sha256", *(a.lower() for a in UNSUPPORTED))


@dataclass
class Received:
    """A body that arrived complete and matched its declared length and digests."""

    body: Body
    digests: Digests


def _declared_size(request: Request, chunked: bool) -> int | None:
    headers = request.headers
    raw = headers.get("x-amz-decoded-content-length") if chunked else headers.get("content-length")
    if raw is None:
        if not chunked and "chunked" not in headers.get("transfer-encoding", ""):
            raise MissingContentLength()
        return None
    try:
        size = int(raw)
    except ValueError as exc:
        raise IncompleteBody(f"The declared body length {raw!r} is not a number.") from exc
    if size > MAX_PUT_SIZE:
        raise EntityTooLarge(ProposedSize=size, MaxSizeAllowed=MAX_PUT_SIZE)
    return size


def checksum_algorithm(headers: dict[str, str]) -> str | None:
    """Which flexible checksum the client declared (header, SDK hint or trailer), if any."""
    hinted = headers.get("x-amz-sdk-checksum-algorithm")
    if hinted:
        return hinted
    trailer = headers.get("x-amz-trailer", "").strip().lower()
    if trailer.startswith("x-amz-checksum-"):
        return trailer.removeprefix("x-amz-checksum-")
    for name in _ALGORITHMS:
        if header_name(name) in headers:
            return name
    return None


def is_chunked(request: Request, verified: Verified) -> bool:
    """Whether the body uses aws-chunked framing."""
    encodings = request.headers.get("content-encoding", "")
    return verified.payload_hash.startswith("STREAMING-") or "aws-chunked" in encodings


def _is_hex_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value)


async def _decoded(
    request: Request, verified: Verified, chunked: bool, trailers: dict[str, str]
) -> AsyncIterator[bytes]:
    """The payload bytes; an aws-chunked body's trailers are put into ``trailers`` at the end."""
    if not chunked:
        async for chunk in request.chunks():
            yield chunk
        return
    decoder = AwsChunkedDecoder(verified.payload_hash, verified)
    async for chunk in request.chunks():
        yield decoder.feed(chunk)
    trailers.update(decoder.finish())


async def receive(
    request: Request, verified: Verified, new_writer: Callable[[], BlobWriter]
) -> Received:
    """Read, decode and check the body. Raises the S3 error for any mismatch."""
    chunked = is_chunked(request, verified)
    declared = _declared_size(request, chunked)
    algorithm = checksum_algorithm(request.headers)
    hex_hash = verified.payload_hash if _is_hex_sha256(verified.payload_hash) else None
    digest = BodyDigest(want_sha256=hex_hash is not None, checksum_algorithm=algorithm)
    in_memory = declared is not None and declared <= INLINE_MAX
    pieces: list[bytes] = []
    writer = None if in_memory else new_writer()
    spool = None if writer is None else Spool(digest, writer)
    trailers: dict[str, str] = {}
    try:
        try:
            async for data in _decoded(request, verified, chunked, trailers):
                if spool is not None:
                    await spool.write(data)
                elif data:
                    digest.update(data)
                    pieces.append(data)
        finally:
            if spool is not None:
                await spool.close()
        digests = digest.result()
        if declared is not None and digests.size != declared:
            raise IncompleteBody(
                f"The body has {digests.size} bytes, but {declared} were declared."
            )
        name = header_name(digests.checksum_algorithm) if digests.checksum_algorithm else ""
        declared_checksum = request.headers.get(name) or trailers.get(name) if name else None
        check(
            digests,
            content_md5=request.headers.get("content-md5"),
            sha256_hex=hex_hash,
            checksum=declared_checksum,
        )
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    return Received(b"".join(pieces) if writer is None else writer, digests)
