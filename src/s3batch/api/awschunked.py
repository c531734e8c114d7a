"""Incremental decoder for ``Content-Encoding: aws-chunked`` request bodies.

The HTTP server has already removed ``Transfer-Encoding: chunked``. What is left is
``<hex size>[;chunk-signature=<hex>]\\r\\n<data>\\r\\n`` repeated, a last chunk of size 0,
trailer lines (``name:value\\r\\n``) and an empty line. In the signed modes every chunk
signature chains from the request's seed signature, and a trailer signature ends the chain
(AWS S3 API docs: "sigv4-streaming" and "sigv4-streaming-trailers").
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re

from s3batch.api.sigv4 import SignatureDoesNotMatch, Verified, hmac_hex
from s3batch.errors import InvalidRequest
from s3batch.objectstore.errors import IncompleteBody

logger = logging.getLogger(__name__)

#: What botocore sends over https: unsigned chunks, the checksum in a trailer.
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
#: Signed chunks, chained from the seed signature of the Authorization header.
SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
#: Signed chunks followed by signed trailers.
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
#: Longest size or trailer line accepted, CRLF excluded (a signed size line has about 90 bytes).
MAX_LINE = 4096
#: Most trailer bytes accepted in all.
MAX_TRAILER_BYTES = 16384

_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_SIGNATURE = re.compile(rb"[0-9a-f]{64}")
_HEADER, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class InvalidChunkEncoding(InvalidRequest):
    """The aws-chunked request body is malformed."""


class AwsChunkedDecoder:
    """Decode an aws-chunked body fed in pieces split anywhere, checking chunk signatures.

    Memory stays bounded: payload bytes pass straight through and only a size or trailer
    line is buffered. Bytes returned by :meth:`feed` are provisional until :meth:`finish`
    returns, since a later signature, the framing or the trailer may still fail.
    """

    def __init__(self, payload_hash: str, verified: Verified | None = None) -> None:
        """Decode a body whose ``x-amz-content-sha256`` is ``payload_hash``.

        The signed modes need ``verified`` (seed signature, signing key, date and scope).
        A non-``STREAMING-`` hash is decoded as unsigned chunks; the caller checks a hex hash.

        Raises:
            InvalidChunkEncoding: an unsupported ``STREAMING-`` mode (such as SigV4a).
            ValueError: a signed mode without ``verified``.
        """
        signed = payload_hash in (SIGNED, SIGNED_TRAILER)
        if (
            payload_hash.startswith("STREAMING-")
            and not signed
            and payload_hash != UNSIGNED_TRAILER
        ):
            raise InvalidChunkEncoding(f"Unsupported aws-chunked payload mode {payload_hash}.")
        if signed and verified is None:
            raise ValueError(f"{payload_hash} bodies need the verified seed signature")
        self._chain = _SignatureChain(verified) if signed and verified else None
        self._signed_trailer = payload_hash == SIGNED_TRAILER
        self._trailers_allowed = payload_hash != SIGNED
        self._state = _HEADER
        self._line = bytearray()
        self._remaining = 0
        self._crlf_seen = 0
        self._chunk_signature = ""
        self._digest = hashlib.sha256()
        self._decoded = 0
        self._trailers: dict[str, str] = {}
        self._trailer_bytes = 0
        self._trailer_signature: str | None = None

    @property
    def decoded_length(self) -> int:
        """Payload bytes decoded so far (compare with ``x-amz-decoded-content-length``)."""
        return self._decoded

    def feed(self, data: bytes) -> bytes:
        """Decode the next piece of the body; return the payload bytes it holds (maybe b"").

        Raises:
            InvalidChunkEncoding: bad framing. SignatureDoesNotMatch: a bad chunk signature.
        """
        if isinstance(data, memoryview):
            data = data.tobytes()
        view, pos = memoryview(data), 0
        out: list[memoryview] = []
        while pos < len(data):
            if self._state == _DATA:
                pos = self._take_data(view, pos, out)
            elif self._state == _DATA_END:
                pos = self._take_crlf(data, pos)
            elif self._state == _DONE:
                raise InvalidChunkEncoding("Bytes follow the end of the aws-chunked body.")
            else:
                pos = self._take_line(data, pos)
        if len(out) == 1 and len(out[0]) == len(data) and isinstance(data, bytes):
            return data  # the common case of a piece inside one chunk: no copy
        return b"".join(out)

    def finish(self) -> dict[str, str]:
        """Check that the body ended where it should; return its trailers (lower-case names).

        Raises:
            IncompleteBody: the body stopped before its last chunk and trailer section.
        """
        if self._state != _DONE:
            raise IncompleteBody("The aws-chunked body ended before its final chunk.")
        return dict(self._trailers)

    def _take_data(self, view: memoryview, pos: int, out: list[memoryview]) -> int:
        end = min(len(view), pos + self._remaining)
        piece = view[pos:end]
        out.append(piece)
        if self._chain:
            self._digest.update(piece)
        self._remaining -= end - pos
        self._decoded += end - pos
        if not self._remaining:
            self._state = _DATA_END
        return end

    def _take_crlf(self, data: bytes, pos: int) -> int:
        while pos < len(data) and self._crlf_seen < 2:
            if data[pos] != b"\r\n"[self._crlf_seen]:
                raise InvalidChunkEncoding("Chunk data is longer than its declared size.")
            self._crlf_seen, pos = self._crlf_seen + 1, pos + 1
        if self._crlf_seen == 2:
            self._crlf_seen = 0
            self._end_chunk()
            self._state = _HEADER
        return pos

    def _take_line(self, data: bytes, pos: int) -> int:
        limit = pos + MAX_LINE + 2 - len(self._line)
        end = data.find(b"\n", pos, limit)
        self._line += data[pos : limit if end < 0 else end + 1]
        if end < 0:
            if len(self._line) > MAX_LINE + 1:
                raise InvalidChunkEncoding("An aws-chunked size or trailer line is too long.")
            return min(limit, len(data))
        line = bytes(self._line)
        self._line.clear()
        if not line.endswith(b"\r\n"):
            raise InvalidChunkEncoding("aws-chunked lines must end with CRLF.")
        if self._state == _HEADER:
            self._start_chunk(line[:-2])
        else:
            self._trailer_line(line[:-2])
        return end + 1

    def _start_chunk(self, line: bytes) -> None:
        size, _, extension = line.partition(b";")
        if not _SIZE.fullmatch(size):
            raise InvalidChunkEncoding(f"Invalid aws-chunked chunk size line {line[:80]!r}.")
        if self._chain:
            self._chunk_signature = _chunk_signature(extension)
            self._digest = hashlib.sha256()
        self._remaining = int(size, 16)
        if self._remaining:
            self._state = _DATA
        else:
            self._end_chunk()
            self._state = _TRAILER

    def _end_chunk(self) -> None:
        if self._chain:
            self._chain.check_chunk(self._chunk_signature, self._digest.hexdigest())

    def _trailer_line(self, line: bytes) -> None:
        if not line:
            self._end_trailers()
            return
        self._trailer_bytes += len(line)
        if not self._trailers_allowed or self._trailer_bytes > MAX_TRAILER_BYTES:
            raise InvalidChunkEncoding("Unexpected or oversized aws-chunked trailer.")
        name, colon, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if not colon or not name:
            raise InvalidChunkEncoding(f"Malformed aws-chunked trailer line {line[:80]!r}.")
        if name == "x-amz-trailer-signature":
            self._trailer_signature = value.strip()
        else:
            self._trailers[name] = value.strip()

    def _end_trailers(self) -> None:
        if self._chain and self._signed_trailer:
            if self._trailer_signature is None:
                raise SignatureDoesNotMatch(
                    "The aws-chunked trailer has no x-amz-trailer-signature."
                )
            self._chain.check_trailer(self._trailer_signature, self._trailers)
        self._state = _DONE


def _chunk_signature(extension: bytes) -> str:
    name, _, value = extension.partition(b"=")
    if name.strip() != b"chunk-signature" or not _SIGNATURE.fullmatch(value.strip()):
        raise InvalidChunkEncoding("A signed aws-chunked chunk has no valid chunk-signature.")
    return value.strip().decode()


class _SignatureChain:
    """Chunk and trailer signatures, each chained to the previous one from the seed."""

    def __init__(self, verified: Verified) -> None:
        self._key = verified.signing_key
        self._scope = f"{verified.amz_date}\n{verified.scope.credential_scope}"
        self._previous = verified.signature

    def check_chunk(self, provided: str, data_sha256: str) -> None:
        self._check("AWS4-HMAC-SHA256-PAYLOAD", provided, f"{_EMPTY_SHA256}\n{data_sha256}")

    def check_trailer(self, provided: str, trailers: dict[str, str]) -> None:
        canonical = "".join(f"{name}:{value}\n" for name, value in sorted(trailers.items()))
        self._check("AWS4-HMAC-SHA256-TRAILER", provided, _sha256_hex(canonical.encode()))

    def _check(self, algorithm: str, provided: str, tail: str) -> None:
        to_sign = f"{algorithm}\n{self._scope}\n{self._previous}\n{tail}"
        if not hmac.compare_digest(hmac_hex(self._key, to_sign).encode(), provided.encode()):
            logger.debug("chunk signature mismatch", extra={"action": "aws-chunked"})
            raise SignatureDoesNotMatch(StringToSign=to_sign, SignatureProvided=provided)
        self._previous = provided


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
