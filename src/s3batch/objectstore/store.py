"""SQL for buckets, objects and multipart uploads: the only place that knows the tables."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime

from s3batch.objectstore.models import (
    Attributes,
    Bucket,
    Checksum,
    MultipartUpload,
    ObjectMeta,
    Part,
)
from s3batch.state.db import Row

#: The columns of :class:`Attributes`, in field order, in both ``objects`` and ``uploads``.
_ATTRIBUTE_COLUMNS = (
    "content_type, content_encoding, metadata,"
    " cache_control, content_disposition, content_language, expires"
)
_OBJECT_COLUMNS = (
    f"bucket, key, size, etag, last_modified, {_ATTRIBUTE_COLUMNS},"
    " checksum_algorithm, checksum_value, checksum_type, segments"
)


def to_text(moment: datetime) -> str:
    """Store a time as ISO 8601 UTC with milliseconds."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def from_text(text: str) -> datetime:
    """Parse a time stored by :func:`to_text`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _bucket(row: Row) -> Bucket:
    return Bucket(
        row["name"], row["region"], from_text(row["created_at"]), bool(row["eventbridge_enabled"])
    )


def _attributes(row: Row) -> Attributes:
    return Attributes(
        row["content_type"],
        row["content_encoding"],
        json.loads(row["metadata"]),
        row["cache_control"],
        row["content_disposition"],
        row["content_language"],
        row["expires"],
    )


def _attribute_values(attrs: Attributes) -> tuple[str | None, ...]:
    """An object's or upload's attributes as values for :data:`_ATTRIBUTE_COLUMNS`."""
    return (
        attrs.content_type,
        attrs.content_encoding,
        json.dumps(attrs.metadata),
        attrs.cache_control,
        attrs.content_disposition,
        attrs.content_language,
        attrs.expires,
    )


def _placeholders(columns: str) -> str:
    return ", ".join("?" for _ in columns.split(","))


def _object(row: Row) -> ObjectMeta:
    checksum = None
    if row["checksum_algorithm"]:
        checksum = Checksum(row["checksum_algorithm"], row["checksum_value"], row["checksum_type"])
    segments = tuple((blob, size) for blob, size in json.loads(row["segments"] or "[]"))
    return ObjectMeta(
        bucket=row["bucket"],
        key=row["key"],
        size=row["size"],
        etag=row["etag"],
        last_modified=from_text(row["last_modified"]),
        attributes=_attributes(row),
        checksum=checksum,
        inline=row.get("data"),
        segments=segments,
    )


def insert_bucket(conn: sqlite3.Connection, bucket: Bucket) -> bool:
    """Create a bucket row; False when the name is taken."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO buckets (name, region, created_at, eventbridge_enabled) VALUES (?, ?, ?, ?)",
        (bucket.name, bucket.region, to_text(bucket.created_at), int(bucket.eventbridge_enabled)),
    )
    return cursor.rowcount == 1


def get_bucket(conn: sqlite3.Connection, name: str) -> Bucket | None:
    """A bucket by name."""
    row = conn.execute("SELECT * FROM buckets WHERE name = ?", (name,)).fetchone()
    return _bucket(row) if row else None


def list_buckets(conn: sqlite3.Connection) -> list[Bucket]:
    """Every bucket, by name."""
    return [_bucket(r) for r in conn.execute("SELECT * FROM buckets ORDER BY name")]


def set_eventbridge(conn: sqlite3.Connection, name: str, enabled: bool) -> None:
    """Turn S3's own EventBridge events for a bucket on or off."""
    conn.execute("UPDATE buckets SET eventbridge_enabled = ? WHERE name = ?", (int(enabled), name))


def bucket_is_empty(conn: sqlite3.Connection, name: str) -> bool:
    """True when the bucket holds no objects (multipart uploads in progress do not count)."""
    row = conn.execute(
        "SELECT EXISTS(SELECT 1 FROM objects WHERE bucket = ?) AS used", (name,)
    ).fetchone()
    return not row["used"]


def delete_bucket(conn: sqlite3.Connection, name: str) -> None:
    """Remove an (empty) bucket row."""
    conn.execute("DELETE FROM buckets WHERE name = ?", (name,))


def get_object(
    conn: sqlite3.Connection, bucket: str, key: str, with_data: bool = True
) -> ObjectMeta | None:
    """An object's row, with its inline bytes unless ``with_data`` is False."""
    columns = _OBJECT_COLUMNS + (", data" if with_data else "")
    row = conn.execute(
        f"SELECT {columns} FROM objects WHERE bucket = ? AND key = ?", (bucket, key)
    ).fetchone()
    return _object(row) if row else None


def put_object(conn: sqlite3.Connection, obj: ObjectMeta) -> None:
    """Insert or replace an object row."""
    checksum = obj.checksum
    conn.execute(
        f"INSERT OR REPLACE INTO objects ({_OBJECT_COLUMNS}, data)"
        f" VALUES ({_placeholders(_OBJECT_COLUMNS)}, ?)",
        (
            obj.bucket,
            obj.key,
            obj.size,
            obj.etag,
            to_text(obj.last_modified),
            *_attribute_values(obj.attributes),
            checksum.algorithm if checksum else None,
            checksum.value if checksum else None,
            checksum.type if checksum else None,
            None if obj.inline is not None else json.dumps([list(s) for s in obj.segments]),
            obj.inline,
        ),
    )


def delete_object(conn: sqlite3.Connection, bucket: str, key: str) -> None:
    """Remove an object row."""
    conn.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, key))


def objects_from(
    conn: sqlite3.Connection, bucket: str, start: str, inclusive: bool, limit: int
) -> list[ObjectMeta]:
    """Objects of a bucket in key order from ``start``, without their bytes."""
    op = ">=" if inclusive else ">"
    rows = conn.execute(
        f"SELECT {_OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key {op} ? ORDER BY key LIMIT ?",
        (bucket, start, limit),
    )
    return [_object(r) for r in rows]


def release_blobs(conn: sqlite3.Connection, blob_ids: Iterable[str]) -> None:
    """Record blobs no longer referenced, to delete once the transaction commits."""
    conn.executemany(
        "INSERT OR IGNORE INTO released_blobs (blob_id) VALUES (?)", [(b,) for b in blob_ids]
    )


def released_blobs(conn: sqlite3.Connection) -> list[str]:
    """Blobs waiting to be deleted."""
    return [r["blob_id"] for r in conn.execute("SELECT blob_id FROM released_blobs")]


def forget_released(conn: sqlite3.Connection, blob_ids: Iterable[str]) -> None:
    """Drop blobs from the release list once their files are gone."""
    conn.executemany("DELETE FROM released_blobs WHERE blob_id = ?", [(b,) for b in blob_ids])


def referenced_blobs(conn: sqlite3.Connection) -> set[str]:
    """Every blob an object or an uploaded part points at."""
    ids = {r["blob_id"] for r in conn.execute("SELECT blob_id FROM upload_parts")}
    for row in conn.execute("SELECT segments FROM objects WHERE segments IS NOT NULL"):
        ids.update(blob for blob, _ in json.loads(row["segments"]))
    return ids


def insert_upload(conn: sqlite3.Connection, upload: MultipartUpload) -> None:
    """Record a new multipart upload."""
    columns = f"upload_id, bucket, key, initiated, {_ATTRIBUTE_COLUMNS}, checksum_algorithm"
    conn.execute(
        f"INSERT INTO uploads ({columns}) VALUES ({_placeholders(columns)})",
        (
            upload.upload_id,
            upload.bucket,
            upload.key,
            to_text(upload.initiated),
            *_attribute_values(upload.attributes),
            upload.checksum_algorithm,
        ),
    )


def get_upload(conn: sqlite3.Connection, upload_id: str) -> MultipartUpload | None:
    """A multipart upload by id."""
    row = conn.execute("SELECT * FROM uploads WHERE upload_id = ?", (upload_id,)).fetchone()
    if row is None:
        return None
    return MultipartUpload(
        row["upload_id"],
        row["bucket"],
        row["key"],
        from_text(row["initiated"]),
        _attributes(row),
        row["checksum_algorithm"],
    )


def delete_upload(conn: sqlite3.Connection, upload_id: str) -> None:
    """Remove an upload and its parts."""
    conn.execute("DELETE FROM upload_parts WHERE upload_id = ?", (upload_id,))
    conn.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))


def abandon_upload(conn: sqlite3.Connection, upload_id: str) -> None:
    """Remove an upload and release its parts' blobs (abort)."""
    parts = list_parts(conn, upload_id)
    delete_upload(conn, upload_id)
    release_blobs(conn, [p.blob_id for p in parts])


def _part(row: Row) -> Part:
    return Part(
        row["part_number"],
        row["size"],
        row["etag"],
        row["blob_id"],
        from_text(row["last_modified"]),
        row["checksum_value"],
    )


def put_part(conn: sqlite3.Connection, upload_id: str, part: Part) -> Part | None:
    """Store a part, returning the part it replaced (if any)."""
    old = conn.execute(
        "SELECT * FROM upload_parts WHERE upload_id = ? AND part_number = ?",
        (upload_id, part.part_number),
    ).fetchone()
    conn.execute(
        "INSERT OR REPLACE INTO upload_parts (upload_id, part_number, size, etag, checksum_value, blob_id,"
        " last_modified) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            upload_id,
            part.part_number,
            part.size,
            part.etag,
            part.checksum_value,
            part.blob_id,
            to_text(part.last_modified),
        ),
    )
    return _part(old) if old else None


def list_parts(conn: sqlite3.Connection, upload_id: str) -> list[Part]:
    """The parts of an upload, by number."""
    rows = conn.execute(
        "SELECT * FROM upload_parts WHERE upload_id = ? ORDER BY part_number", (upload_id,)
    )
    return [_part(r) for r in rows]


def list_uploads(conn: sqlite3.Connection, bucket: str) -> list[MultipartUpload]:
    """Uploads in progress in a bucket."""
    ids = [
        r["upload_id"]
        for r in conn.execute(
            "SELECT upload_id FROM uploads WHERE bucket = ? ORDER BY key, initiated", (bucket,)
        )
    ]
    return [u for u in (get_upload(conn, i) for i in ids) if u]
