"""Bucket and object operations. Each write commits the change and its event together.

Object bytes are made durable before the metadata that points at them is committed:
small objects travel inside the (fsynced) state transaction, larger ones are blobs
committed first (see :mod:`.blobs`). So a crash leaves either the old object or the new
one, never a half-written one; a blob orphaned by a crash is swept at start-up.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from s3batch.clock import Clock
from s3batch.objectstore import store
from s3batch.objectstore.blobs import BlobStore, BlobWriter
from s3batch.objectstore.checksums import Digests
from s3batch.objectstore.errors import (
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    InvalidRequest,
    NoSuchBucket,
    NoSuchKey,
    PreconditionFailed,
)
from s3batch.objectstore.listing import list_page
from s3batch.objectstore.models import (
    INLINE_MAX,
    Attributes,
    Bucket,
    Checksum,
    Listing,
    ObjectMeta,
    WriteCondition,
)
from s3batch.objectstore.naming import check_bucket_name, check_key
from s3batch.objectstore.notifications import BUS_TOPIC, bus_message, object_event
from s3batch.objectstore.records import TOPIC, api_call
from s3batch.state import outbox
from s3batch.state.db import Database
from s3batch.types import RequestContext

logger = logging.getLogger(__name__)

#: What a write's body is: bytes in memory, or a blob being written (not yet committed).
Body = bytes | BlobWriter


@contextmanager
def discarded_on_error(body: Body) -> Iterator[None]:
    """Abort an uncommitted blob when the write is refused before it is stored."""
    try:
        yield
    except BaseException:
        if not isinstance(body, bytes):
            body.abort()
        raise


class ObjectStore:
    """Buckets and objects, stored durably, with object events in the outbox."""

    def __init__(
        self, db: Database, blobs: BlobStore, clock: Clock, account_id: str = "000000000000"
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.clock = clock
        self.account_id = account_id
        #: Hook called after every committed write (the runtime wakes the trail relay with it).
        self.after_write: Callable[[], None] = lambda: None

    # -- buckets ---------------------------------------------------------------------

    def create_bucket(self, name: str, region: str, eventbridge: bool = False) -> Bucket:
        """Create a bucket.

        Raises:
            InvalidBucketName: the name breaks S3's naming rules.
            BucketAlreadyOwnedByYou: it exists already.
        """
        check_bucket_name(name)
        bucket = Bucket(name, region, self.clock.now(), eventbridge)
        with self.db.transaction() as conn:
            if not store.insert_bucket(conn, bucket):
                raise BucketAlreadyOwnedByYou(BucketName=name)
        logger.info("created bucket %s", name, extra={"action": "create_bucket"})
        return bucket

    def ensure_bucket(self, name: str, region: str, eventbridge: bool) -> Bucket:
        """Create a bucket unless it exists, and set its EventBridge switch (stack loading)."""
        check_bucket_name(name)
        with self.db.transaction() as conn:
            store.insert_bucket(conn, Bucket(name, region, self.clock.now(), eventbridge))
            store.set_eventbridge(conn, name, eventbridge)
            bucket = store.get_bucket(conn, name)
        assert bucket is not None
        return bucket

    def bucket(self, name: str) -> Bucket:
        """A bucket by name. Raises NoSuchBucket."""
        bucket = store.get_bucket(self.db.conn, name)
        if bucket is None:
            raise NoSuchBucket(BucketName=name)
        return bucket

    def list_buckets(self) -> list[Bucket]:
        """Every bucket, by name."""
        return store.list_buckets(self.db.conn)

    def delete_bucket(self, name: str) -> None:
        """Delete a bucket without objects, and the multipart uploads left in it, as S3 does.

        Raises NoSuchBucket, BucketNotEmpty.
        """
        with self.db.transaction() as conn:
            if store.get_bucket(conn, name) is None:
                raise NoSuchBucket(BucketName=name)
            if not store.bucket_is_empty(conn, name):
                raise BucketNotEmpty(BucketName=name)
            for upload in store.list_uploads(conn, name):
                store.abandon_upload(conn, upload.upload_id)
            store.delete_bucket(conn, name)
        self.purge_released()

    # -- objects ---------------------------------------------------------------------

    def put_object(
        self,
        bucket: str,
        key: str,
        body: Body,
        digests: Digests,
        attributes: Attributes,
        ctx: RequestContext,
        event_name: str = "PutObject",
        condition: WriteCondition | None = None,
    ) -> ObjectMeta:
        """Store an object whose body has been received and checked; return it.

        With a ``condition``, the object is stored only if the key's current object (read in
        the write's transaction) meets it. Raises PreconditionFailed, or NoSuchKey when
        ``If-Match`` names an object that does not exist.
        """
        with discarded_on_error(body):
            check_key(key)
            self.bucket(bucket)
            inline, segments = self._persist(body, digests.size)
        checksum = None
        if digests.checksum_algorithm and digests.checksum_value:
            checksum = Checksum(digests.checksum_algorithm, digests.checksum_value)
        obj = ObjectMeta(
            bucket,
            key,
            digests.size,
            digests.etag,
            self.clock.now(),
            attributes,
            checksum,
            inline,
            segments,
        )
        return self._commit_object(obj, ctx, event_name, condition, bytes_in=digests.size)

    def _persist(self, body: Body, size: int) -> tuple[bytes | None, tuple[tuple[str, int], ...]]:
        if isinstance(body, bytes) and size <= INLINE_MAX:
            return body, ()
        if isinstance(body, bytes):
            writer = self.blobs.writer()
            writer.write(body)
            body = writer
        return None, ((body.commit(), size),)

    def _commit_object(
        self,
        obj: ObjectMeta,
        ctx: RequestContext,
        event_name: str,
        condition: WriteCondition | None = None,
        **extra: object,
    ) -> ObjectMeta:
        try:
            with self.db.transaction() as conn:
                bucket = store.get_bucket(conn, obj.bucket)
                if bucket is None:
                    raise NoSuchBucket(BucketName=obj.bucket)
                old = store.get_object(conn, obj.bucket, obj.key, with_data=False)
                if condition is not None:
                    check_condition(condition, old, obj.key)
                store.put_object(conn, obj)
                if old is not None:
                    store.release_blobs(conn, [b for b, _ in old.segments])
                self.record_write(conn, bucket, event_name, obj, ctx, **extra)
        except BaseException:
            for blob_id, _ in obj.segments:
                self.blobs.delete(blob_id)
            raise
        self.written()
        if old is not None and old.segments:
            self.purge_released()
        return obj

    def record_write(
        self,
        conn: sqlite3.Connection,
        bucket: Bucket,
        event_name: str,
        obj: ObjectMeta,
        ctx: RequestContext,
        **extra: object,
    ) -> None:
        """In the write's transaction: the API call for trails, and S3's own event if enabled."""
        now = obj.last_modified
        record = api_call(event_name, obj, ctx, now, **extra)
        outbox.append(conn, TOPIC, record, now)
        if bucket.eventbridge_enabled:
            event = object_event(event_name, obj, ctx, now, self.account_id, record["sequencer"])
            outbox.append(conn, BUS_TOPIC, bus_message(event), now)

    def written(self) -> None:
        """Run the after-write hook (a failure is logged, never raised)."""
        try:
            self.after_write()
        except Exception:  # a failing hook must not fail a write that has committed
            logger.exception("after_write hook failed", extra={"action": "after_write"})

    def head_object(self, bucket: str, key: str) -> ObjectMeta:
        """An object's description without its bytes. Raises NoSuchBucket, NoSuchKey."""
        return self._get(bucket, key, with_data=False)

    def get_object(self, bucket: str, key: str) -> ObjectMeta:
        """An object with its inline bytes (if small). Raises NoSuchBucket, NoSuchKey."""
        return self._get(bucket, key, with_data=True)

    def _get(self, bucket: str, key: str, with_data: bool) -> ObjectMeta:
        obj = store.get_object(self.db.conn, bucket, key, with_data)
        if obj is None:
            self.bucket(bucket)
            raise NoSuchKey(Key=key)
        return obj

    def read(self, obj: ObjectMeta, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield bytes ``start`` up to (not including) ``end`` of an object got with its
        bytes (:meth:`get_object`)."""
        end = obj.size if end is None else end
        if obj.inline is None and not obj.segments and obj.size:
            raise ValueError(f"{obj.bucket}/{obj.key} was read without its bytes (head_object)")
        if obj.inline is not None:
            yield obj.inline[start:end]
            return
        offset = 0
        for blob_id, size in obj.segments:
            lo, hi = max(start - offset, 0), min(end - offset, size)
            if lo < hi:
                yield from self.blobs.read(blob_id, lo, hi)
            offset += size

    def delete_object(self, bucket: str, key: str, ctx: RequestContext) -> bool:
        """Delete an object; deleting a missing key succeeds. Returns whether one existed."""
        now = self.clock.now()
        with self.db.transaction() as conn:
            found = store.get_bucket(conn, bucket)
            if found is None:
                raise NoSuchBucket(BucketName=bucket)
            old = store.get_object(conn, bucket, key, with_data=False)
            if old is None:
                return False
            store.delete_object(conn, bucket, key)
            store.release_blobs(conn, [b for b, _ in old.segments])
            self.record_write(conn, found, "DeleteObject", replace(old, last_modified=now), ctx)
        self.written()
        self.purge_released()
        return True

    def copy_object(
        self,
        source: tuple[str, str],
        bucket: str,
        key: str,
        attributes: Attributes | None,
        ctx: RequestContext,
    ) -> ObjectMeta:
        """Copy an object; ``attributes`` None keeps the source's (metadata directive COPY)."""
        check_key(key)
        self.bucket(bucket)
        src = self.get_object(*source)
        if attributes is None and source == (bucket, key):
            raise InvalidRequest(
                "This copy request is illegal because it is trying to copy an object to itself without changing"
                " the object's metadata, storage class, website redirect location or encryption attributes."
            )
        inline, segments = src.inline, src.segments
        if inline is None:
            writer = self.blobs.writer()
            for piece in self.read(src):
                writer.write(piece)
            inline, segments = self._persist(writer, src.size)
        obj = replace(
            src,
            bucket=bucket,
            key=key,
            last_modified=self.clock.now(),
            inline=inline,
            segments=segments,
            attributes=attributes if attributes is not None else src.attributes,
        )
        return self._commit_object(obj, ctx, "CopyObject", source=f"{source[0]}/{source[1]}")

    def list_objects(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str = "",
        max_keys: int = 1000,
        after: str | None = None,
        token: str | None = None,
    ) -> Listing:
        """One page of keys in UTF-8 binary order, with ``delimiter`` roll-ups."""
        self.bucket(bucket)
        return list_page(self.db.conn, bucket, prefix, delimiter, max_keys, after, token)

    # -- housekeeping ----------------------------------------------------------------

    def purge_released(self) -> int:
        """Delete blob files released by committed transactions; return how many."""
        released = store.released_blobs(self.db.conn)
        for blob_id in released:
            self.blobs.delete(blob_id)
        if released:
            with self.db.transaction() as conn:
                store.forget_released(conn, released)
        return len(released)

    def recover(self) -> int:
        """After a crash: drop unfinished and unreferenced blobs; return how many went."""
        removed = self.blobs.discard_incomplete() + self.purge_released()
        with self.db.transaction() as conn:
            orphans = self.blobs.ids() - store.referenced_blobs(conn)
        for blob_id in orphans:
            self.blobs.delete(blob_id)
        if removed or orphans:
            logger.info(
                "recovered: removed %d stray blobs",
                removed + len(orphans),
                extra={"action": "recover"},
            )
        return removed + len(orphans)


def check_condition(condition: WriteCondition, current: ObjectMeta | None, key: str) -> None:
    """Raise unless the key's ``current`` object meets a conditional write's ``condition``."""
    if condition.if_none_match and current is not None:
        raise PreconditionFailed(Condition="If-None-Match")
    if condition.if_match is None:
        return
    if current is None:
        raise NoSuchKey(Key=key)
    wanted = [tag.strip().strip('"') for tag in condition.if_match.split(",")]
    if "*" not in wanted and current.etag.strip('"') not in wanted:
        raise PreconditionFailed(Condition="If-Match")
