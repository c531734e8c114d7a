"""Multipart uploads: parts arrive in any order, in parallel; completion is one commit.

Each part is a durable blob. Completing an upload writes no bytes: the object becomes
the ordered list of its parts' blobs, so a 100 MiB upload completes in milliseconds.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from s3batch.objectstore import store
from s3batch.objectstore.checksums import Digests, composite, multipart_etag
from s3batch.objectstore.errors import (
    EntityTooSmall,
    InvalidPart,
    InvalidPartOrder,
    NoSuchBucket,
    NoSuchUpload,
)
from s3batch.objectstore.models import (
    Attributes,
    Checksum,
    MultipartUpload,
    ObjectMeta,
    Part,
    WriteCondition,
)
from s3batch.objectstore.naming import check_key
from s3batch.objectstore.service import Body, ObjectStore, check_condition, discarded_on_error
from s3batch.types import RequestContext

logger = logging.getLogger(__name__)

#: Smallest part S3 accepts, except for the last one.
MIN_PART_SIZE = 5 * 1024 * 1024
#: Part numbers S3 accepts.
PART_NUMBERS = range(1, 10_001)


class Multipart:
    """Multipart upload operations over an :class:`ObjectStore`."""

    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects
        self.db = objects.db

    def create(
        self, bucket: str, key: str, attributes: Attributes, checksum_algorithm: str | None
    ) -> MultipartUpload:
        """Start an upload. Raises NoSuchBucket, KeyTooLongError."""
        check_key(key)
        self.objects.bucket(bucket)
        upload = MultipartUpload(
            secrets.token_urlsafe(32),
            bucket,
            key,
            self.objects.clock.now(),
            attributes,
            checksum_algorithm,
        )
        with self.db.transaction() as conn:
            store.insert_upload(conn, upload)
        return upload

    def upload(self, bucket: str, key: str, upload_id: str) -> MultipartUpload:
        """An upload in progress. Raises NoSuchBucket, NoSuchUpload."""
        upload = store.get_upload(self.db.conn, upload_id)
        if upload is None or (upload.bucket, upload.key) != (bucket, key):
            self.objects.bucket(bucket)
            raise NoSuchUpload(UploadId=upload_id)
        return upload

    def upload_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, body: Body, digests: Digests
    ) -> Part:
        """Store one part (replacing an earlier part with the same number)."""
        with discarded_on_error(body):
            self.upload(bucket, key, upload_id)
            if isinstance(body, bytes):
                writer = self.objects.blobs.writer()
                writer.write(body)
                body = writer
            blob_id = body.commit()
        part = Part(
            part_number,
            digests.size,
            digests.etag,
            blob_id,
            self.objects.clock.now(),
            digests.checksum_value,
        )
        try:
            with self.db.transaction() as conn:
                if store.get_upload(conn, upload_id) is None:
                    raise NoSuchUpload(UploadId=upload_id)
                old = store.put_part(conn, upload_id, part)
                if old is not None:
                    store.release_blobs(conn, [old.blob_id])
        except BaseException:
            self.objects.blobs.delete(blob_id)
            raise
        if old is not None:
            self.objects.purge_released()
        return part

    def parts(self, bucket: str, key: str, upload_id: str) -> list[Part]:
        """The parts uploaded so far."""
        self.upload(bucket, key, upload_id)
        return store.list_parts(self.db.conn, upload_id)

    def complete(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        chosen: list[tuple[int, str]],
        ctx: RequestContext,
        condition: WriteCondition | None = None,
    ) -> ObjectMeta:
        """Assemble the listed parts (number, ETag) into the object and end the upload.

        A ``condition`` the key's current object fails (see ``check_condition``) leaves
        the upload as it was, to be completed again.
        """
        upload = self.upload(bucket, key, upload_id)
        with self.db.transaction() as conn:
            uploaded = {p.part_number: p for p in store.list_parts(conn, upload_id)}
            parts = _select(chosen, uploaded)
            unused = [
                p.blob_id for n, p in uploaded.items() if n not in {q.part_number for q in parts}
            ]
            obj = _assemble(upload, parts, self.objects.clock.now())
            found = store.get_bucket(conn, bucket)
            if found is None:
                raise NoSuchBucket(BucketName=bucket)
            old = store.get_object(conn, bucket, key, with_data=False)
            if condition is not None:
                check_condition(condition, old, key)
            store.put_object(conn, obj)
            store.delete_upload(conn, upload_id)
            store.release_blobs(conn, unused + ([b for b, _ in old.segments] if old else []))
            self.objects.record_write(
                conn, found, "CompleteMultipartUpload", obj, ctx, uploadId=upload_id
            )
        self.objects.written()
        self.objects.purge_released()
        return obj

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        """Abandon an upload and delete its parts."""
        self.upload(bucket, key, upload_id)
        with self.db.transaction() as conn:
            store.abandon_upload(conn, upload_id)
        self.objects.purge_released()

    def list_uploads(self, bucket: str) -> list[MultipartUpload]:
        """Uploads in progress in a bucket."""
        self.objects.bucket(bucket)
        return store.list_uploads(self.db.conn, bucket)


def _select(chosen: list[tuple[int, str]], uploaded: dict[int, Part]) -> list[Part]:
    """Check the client's part list against what was uploaded."""
    if not chosen:
        raise InvalidPart("You must specify at least one part.")
    numbers = [n for n, _ in chosen]
    if numbers != sorted(set(numbers)):
        raise InvalidPartOrder()
    parts = []
    for number, etag in chosen:
        part = uploaded.get(number)
        if part is None or part.etag.strip('"') != etag.strip('"'):
            raise InvalidPart(PartNumber=number, ETag=etag)
        parts.append(part)
    for part in parts[:-1]:
        if part.size < MIN_PART_SIZE:
            raise EntityTooSmall(
                ProposedSize=part.size, MinSizeAllowed=MIN_PART_SIZE, PartNumber=part.part_number
            )
    return parts


def _assemble(upload: MultipartUpload, parts: list[Part], now: datetime) -> ObjectMeta:
    checksum = None
    values = [p.checksum_value for p in parts if p.checksum_value]
    if upload.checksum_algorithm and len(values) == len(parts):
        checksum = Checksum(
            upload.checksum_algorithm, composite(upload.checksum_algorithm, values), "COMPOSITE"
        )
    return ObjectMeta(
        bucket=upload.bucket,
        key=upload.key,
        size=sum(p.size for p in parts),
        etag=multipart_etag([bytes.fromhex(p.etag.strip('"')) for p in parts]),
        last_modified=now,
        attributes=upload.attributes,
        checksum=checksum,
        segments=tuple((p.blob_id, p.size) for p in parts),
    )
