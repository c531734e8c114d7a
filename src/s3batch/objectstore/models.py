"""Object store entities: frozen values, with storage kept in :mod:`.store`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

#: Objects up to this size are kept inside the state database: one fsync makes them durable.
INLINE_MAX = 256 * 1024


@dataclass(frozen=True)
class Bucket:
    """A bucket."""

    name: str
    region: str
    created_at: datetime
    eventbridge_enabled: bool = False


@dataclass(frozen=True)
class Checksum:
    """A flexible checksum stored with an object (base64 value, ``-N`` when composite)."""

    algorithm: str
    value: str
    type: str = "FULL_OBJECT"


@dataclass(frozen=True)
class Attributes:
    """What a writer sets on an object besides its bytes.

    The standard headers are kept as sent (``expires`` too: S3 returns it verbatim).
    """

    content_type: str | None = None
    content_encoding: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    cache_control: str | None = None
    content_disposition: str | None = None
    content_language: str | None = None
    expires: str | None = None


@dataclass(frozen=True)
class WriteCondition:
    """A conditional PutObject: ``If-Match`` an ETag, and/or ``If-None-Match: *`` (no object yet)."""

    if_match: str | None = None
    if_none_match: bool = False


@dataclass(frozen=True)
class ObjectMeta:
    """An object's description and where its bytes are."""

    bucket: str
    key: str
    size: int
    etag: str
    last_modified: datetime
    attributes: Attributes
    checksum: Checksum | None = None
    inline: bytes | None = None
    segments: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class MultipartUpload:
    """A multipart upload in progress."""

    upload_id: str
    bucket: str
    key: str
    initiated: datetime
    attributes: Attributes
    checksum_algorithm: str | None = None


@dataclass(frozen=True)
class Part:
    """One uploaded part of a multipart upload."""

    part_number: int
    size: int
    etag: str
    blob_id: str
    last_modified: datetime
    checksum_value: str | None = None


@dataclass(frozen=True)
class Listing:
    """One page of a bucket listing."""

    contents: list[ObjectMeta]
    common_prefixes: list[str]
    is_truncated: bool
    next_token: str | None
