"""Body digests: the MD5 behind an ETag, the signed SHA-256, and S3's flexible checksums.

A :class:`BodyDigest` is fed the body as it streams in; :meth:`BodyDigest.check` then
compares what was computed with what the client declared (Content-MD5, the hex
``x-amz-content-sha256``, an ``x-amz-checksum-*`` header or trailer) and raises the error
S3 sends on a mismatch. Nothing is stored until the check passes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from s3batch.errors import InvalidRequest
from s3batch.objectstore.errors import BadDigest, ContentSHA256Mismatch, InvalidDigest


class _Crc32:
    """CRC32 with the ``hashlib`` interface."""

    def __init__(self) -> None:
        self._value = 0

    def update(self, data: bytes | memoryview) -> None:
        self._value = zlib.crc32(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(4, "big")


_FACTORIES: dict[str, Callable[[], _Crc32 | hashlib._Hash]] = {
    "CRC32": _Crc32,
    "SHA1": hashlib.sha1,
    "SHA256": hashlib.sha256,
}

#: Algorithms S3 knows but s3batch cannot compute yet (no C implementation in the stdlib).
UNSUPPORTED = ("CRC32C", "CRC64NVME")


def normalise_algorithm(name: str) -> str:
    """Upper-case a checksum algorithm name and check it is supported."""
    algorithm = name.upper()
    if algorithm in UNSUPPORTED:
        raise InvalidRequest(
            f"Checksum algorithm {algorithm} is not supported by s3batch; use CRC32, SHA1 or SHA256."
        )
    if algorithm not in _FACTORIES:
        raise InvalidRequest(f"Value for x-amz-checksum-algorithm header is invalid: {name}.")
    return algorithm


def header_name(algorithm: str) -> str:
    """The ``x-amz-checksum-*`` header that carries ``algorithm``."""
    return f"x-amz-checksum-{algorithm.lower()}"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@dataclass(frozen=True)
class Digests:
    """What was computed over a complete body."""

    size: int
    md5: bytes
    sha256_hex: str | None
    checksum_algorithm: str | None
    checksum_value: str | None

    @property
    def etag(self) -> str:
        """The quoted ETag of a single-part object."""
        return f'"{self.md5.hex()}"'


class BodyDigest:
    """Hashes a body as it streams in."""

    def __init__(self, *, want_sha256: bool, checksum_algorithm: str | None) -> None:
        self.size = 0
        self._md5 = hashlib.md5()
        self._sha256 = hashlib.sha256() if want_sha256 else None
        self._algorithm = normalise_algorithm(checksum_algorithm) if checksum_algorithm else None
        self._checksum = _FACTORIES[self._algorithm]() if self._algorithm else None

    def update(self, data: bytes | memoryview) -> None:
        """Feed the next piece of the body."""
        self.size += len(data)
        self._md5.update(data)
        if self._sha256 is not None:
            self._sha256.update(data)
        if self._checksum is not None:
            self._checksum.update(data)

    def result(self) -> Digests:
        """The digests of everything fed so far."""
        return Digests(
            size=self.size,
            md5=self._md5.digest(),
            sha256_hex=self._sha256.hexdigest() if self._sha256 else None,
            checksum_algorithm=self._algorithm,
            checksum_value=_b64(self._checksum.digest()) if self._checksum else None,
        )


def _decode_b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidDigest(f"The {what} you specified is not valid base64.") from exc


def check(
    digests: Digests,
    *,
    content_md5: str | None = None,
    sha256_hex: str | None = None,
    checksum: str | None = None,
) -> None:
    """Compare computed digests with the client's declared values.

    Raises:
        InvalidDigest: a declared value is malformed.
        BadDigest: Content-MD5 or the flexible checksum differs from the body.
        ContentSHA256Mismatch: the signed SHA-256 differs from the body.
    """
    if content_md5 is not None:
        declared = _decode_b64(content_md5, "Content-MD5")
        if len(declared) != 16:
            raise InvalidDigest("The Content-MD5 you specified is not valid.")
        if declared != digests.md5:
            raise BadDigest("The Content-MD5 you specified did not match what we received.")
    if (
        sha256_hex is not None
        and digests.sha256_hex is not None
        and sha256_hex.lower() != digests.sha256_hex
    ):
        raise ContentSHA256Mismatch(
            ClientComputedContentSHA256=sha256_hex, S3ComputedContentSHA256=digests.sha256_hex
        )
    if checksum is not None and digests.checksum_algorithm is not None:
        _decode_b64(checksum, header_name(digests.checksum_algorithm))
        if checksum != digests.checksum_value:
            raise BadDigest(
                f"The {digests.checksum_algorithm} you specified did not match the calculated checksum."
            )


def composite(algorithm: str, part_checksums: list[str]) -> str:
    """The checksum of a multipart object: the hash of the parts' binary checksums, then ``-N``."""
    combined = _FACTORIES[algorithm]()
    for value in part_checksums:
        combined.update(base64.b64decode(value))
    return f"{_b64(combined.digest())}-{len(part_checksums)}"


def multipart_etag(part_md5s: list[bytes]) -> str:
    """The quoted ETag of a multipart object: MD5 of the parts' binary MD5s, then ``-N``."""
    return f'"{hashlib.md5(b"".join(part_md5s)).hexdigest()}-{len(part_md5s)}"'
