"""Bucket and object operations over both blob stores, with their outbox events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from blob_spies import SpyWriter

from s3batch.clock import FakeClock
from s3batch.errors import InvalidRequest
from s3batch.objectstore import store
from s3batch.objectstore.blobs import BlobStore, FileBlobStore
from s3batch.objectstore.checksums import BodyDigest, Digests
from s3batch.objectstore.errors import (
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    InvalidBucketName,
    KeyTooLongError,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
)
from s3batch.objectstore.models import INLINE_MAX, Attributes, Checksum, ObjectMeta
from s3batch.objectstore.multipart import Multipart
from s3batch.objectstore.service import ObjectStore
from s3batch.state import outbox
from s3batch.state.db import Database
from s3batch.types import RequestContext

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
CTX = RequestContext(
    request_id="REQ1", access_key_id="AKIATEST", source_ip="10.0.0.1", user_agent="ua", host="h"
)
TOPIC = "s3.api_call"
BIG = INLINE_MAX + 1


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def objects(db: Database, blobs: BlobStore, clock: FakeClock) -> ObjectStore:
    service = ObjectStore(db, blobs, clock)
    service.create_bucket("bkt", "us-east-1")
    return service


def digests_of(data: bytes, algorithm: str | None = None) -> Digests:
    body = BodyDigest(want_sha256=False, checksum_algorithm=algorithm)
    body.update(data)
    return body.result()


def put(
    objects: ObjectStore,
    key: str,
    data: bytes,
    attributes: Attributes | None = None,
    bucket: str = "bkt",
) -> ObjectMeta:
    return objects.put_object(bucket, key, data, digests_of(data), attributes or Attributes(), CTX)


def content(objects: ObjectStore, key: str, bucket: str = "bkt") -> bytes:
    return b"".join(objects.read(objects.get_object(bucket, key)))


def events(db: Database, topic: str = TOPIC) -> list[dict[str, Any]]:
    rows = db.conn.execute(
        "SELECT payload FROM outbox WHERE topic = ? ORDER BY id", (topic,)
    ).fetchall()
    return [json.loads(r["payload"]) for r in rows]


def topics(db: Database) -> list[str]:
    return [r["topic"] for r in db.conn.execute("SELECT topic FROM outbox ORDER BY id")]


def pattern(size: int, seed: int = 0) -> bytes:
    block = bytes((i * 7 + seed) % 256 for i in range(251))
    return (block * (size // len(block) + 1))[:size]


# -- buckets -------------------------------------------------------------------------------


def test_create_and_describe_buckets(objects: ObjectStore, clock: FakeClock) -> None:
    clock.advance(5)
    created = objects.create_bucket("another", "eu-west-1", eventbridge=True)
    assert objects.bucket("another") == created
    assert created.region == "eu-west-1" and created.eventbridge_enabled
    assert created.created_at == datetime(2024, 5, 1, 12, 0, 5, tzinfo=UTC)
    assert [b.name for b in objects.list_buckets()] == ["another", "bkt"]


def test_creating_an_existing_bucket_is_bucket_already_owned_by_you(objects: ObjectStore) -> None:
    with pytest.raises(BucketAlreadyOwnedByYou) as info:
        objects.create_bucket("bkt", "eu-west-1")
    assert info.value.details == {"BucketName": "bkt"}
    assert objects.bucket("bkt").region == "us-east-1"


def test_invalid_bucket_name_is_refused_before_anything_is_stored(objects: ObjectStore) -> None:
    with pytest.raises(InvalidBucketName):
        objects.create_bucket("Bad_Name", "us-east-1")
    assert [b.name for b in objects.list_buckets()] == ["bkt"]


def test_ensure_bucket_creates_once_and_updates_the_eventbridge_switch(
    objects: ObjectStore,
) -> None:
    assert objects.ensure_bucket("stacked", "us-east-1", True).eventbridge_enabled
    assert not objects.ensure_bucket("stacked", "us-east-1", False).eventbridge_enabled
    assert [b.name for b in objects.list_buckets()].count("stacked") == 1


def test_missing_bucket_is_no_such_bucket_everywhere(objects: ObjectStore) -> None:
    for call in (
        lambda: objects.bucket("nope"),
        lambda: objects.delete_bucket("nope"),
        lambda: objects.head_object("nope", "k"),
        lambda: objects.get_object("nope", "k"),
        lambda: objects.delete_object("nope", "k", CTX),
        lambda: objects.list_objects("nope"),
        lambda: put(objects, "k", b"x", bucket="nope"),
        lambda: objects.copy_object(("bkt", "k"), "nope", "k2", None, CTX),
    ):
        with pytest.raises(NoSuchBucket):
            call()


def test_delete_bucket(objects: ObjectStore) -> None:
    objects.create_bucket("gone", "us-east-1")
    objects.delete_bucket("gone")
    with pytest.raises(NoSuchBucket):
        objects.bucket("gone")


def test_a_bucket_with_an_object_is_not_empty(objects: ObjectStore) -> None:
    put(objects, "k", b"x")
    with pytest.raises(BucketNotEmpty):
        objects.delete_bucket("bkt")
    objects.delete_object("bkt", "k", CTX)
    objects.delete_bucket("bkt")
    assert objects.list_buckets() == []


def test_a_bucket_with_only_a_multipart_upload_is_deleted_with_it(objects: ObjectStore) -> None:
    # As S3 does: uploads in progress do not keep a bucket; they go with it.
    multipart = Multipart(objects)
    upload = multipart.create("bkt", "k", Attributes(), None)
    objects.delete_bucket("bkt")
    with pytest.raises(NoSuchBucket):
        objects.bucket("bkt")
    objects.create_bucket("bkt", "us-east-1")  # a new bucket of the name has no such upload
    with pytest.raises(NoSuchUpload):
        multipart.parts("bkt", "k", upload.upload_id)


# -- put / get / head ---------------------------------------------------------------------------


def test_put_then_get_and_head(objects: ObjectStore, clock: FakeClock) -> None:
    clock.advance(1.5)
    attrs = Attributes("text/plain", "gzip", {"owner": "me", "x": "é"})
    stored = put(objects, "dir/file.txt", b"hello world", attrs)
    assert stored.etag == '"5eb63bbbe01eeed093cb22bb8f5acdc3"'
    assert stored.size == 11
    got = objects.get_object("bkt", "dir/file.txt")
    head = objects.head_object("bkt", "dir/file.txt")
    for obj in (got, head):
        assert (obj.bucket, obj.key, obj.size, obj.etag) == ("bkt", "dir/file.txt", 11, stored.etag)
        assert obj.attributes == attrs
        assert obj.last_modified == datetime(2024, 5, 1, 12, 0, 1, 500000, tzinfo=UTC)
    assert content(objects, "dir/file.txt") == b"hello world"
    assert head.inline is None  # head does not load the bytes


#: Every attribute set, the standard headers included.
HEADERS = Attributes(
    "text/csv",
    "gzip",
    {"a": "1"},
    cache_control="max-age=60",
    content_disposition='attachment; filename="r.csv"',
    content_language="en-GB",
    expires="Thu, 01 Jan 2037 00:00:00 GMT",
)


@pytest.mark.parametrize("size", [3, BIG])
def test_standard_headers_are_stored_with_the_object_and_its_listing(
    objects: ObjectStore, size: int
) -> None:
    put(objects, "k", b"x" * size, HEADERS)
    assert objects.get_object("bkt", "k").attributes == HEADERS
    assert objects.head_object("bkt", "k").attributes == HEADERS
    assert objects.list_objects("bkt").contents[0].attributes == HEADERS


def test_missing_key_is_no_such_key(objects: ObjectStore) -> None:
    for call in (objects.get_object, objects.head_object):
        with pytest.raises(NoSuchKey) as info:
            call("bkt", "nope")
        assert info.value.details == {"Key": "nope"}


@pytest.mark.parametrize(
    "key", ["a//b", "../x", "./x", "a+b", "a%2Bb", "a b", "é/😀", "\U0010ffff", "/lead", "x" * 1024]
)
def test_awkward_keys_round_trip(objects: ObjectStore, key: str) -> None:
    put(objects, key, key.encode())
    assert content(objects, key) == key.encode()
    assert [o.key for o in objects.list_objects("bkt").contents] == [key]


def test_key_over_1024_bytes_is_refused_and_stores_nothing(
    objects: ObjectStore, db: Database
) -> None:
    with pytest.raises(KeyTooLongError):
        put(objects, "é" * 513, b"x" * BIG)
    assert objects.list_objects("bkt").contents == []
    assert objects.blobs.ids() == set()
    assert events(db) == []


def test_checksum_is_stored_with_the_object(objects: ObjectStore) -> None:
    digests = digests_of(b"123456789", "CRC32")
    objects.put_object("bkt", "k", b"123456789", digests, Attributes(), CTX)
    assert objects.head_object("bkt", "k").checksum == Checksum("CRC32", "y/Q5Jg==", "FULL_OBJECT")
    assert put(objects, "plain", b"x").checksum is None


@pytest.mark.parametrize("size", [0, 1, INLINE_MAX])
def test_bodies_up_to_inline_max_live_in_the_database(objects: ObjectStore, size: int) -> None:
    data = pattern(size)
    put(objects, "k", data)
    obj = objects.get_object("bkt", "k")
    assert obj.inline == data and obj.segments == ()
    assert objects.blobs.ids() == set()
    assert content(objects, "k") == data


@pytest.mark.parametrize("size", [INLINE_MAX + 1, 3 * INLINE_MAX])
def test_bodies_over_inline_max_live_in_one_blob(objects: ObjectStore, size: int) -> None:
    data = pattern(size)
    put(objects, "k", data)
    obj = objects.get_object("bkt", "k")
    assert obj.inline is None
    assert len(obj.segments) == 1 and obj.segments[0][1] == size
    assert objects.blobs.ids() == {obj.segments[0][0]}
    assert content(objects, "k") == data


def test_a_streamed_body_is_stored_as_a_blob_and_reads_back(objects: ObjectStore) -> None:
    writer = objects.blobs.writer()
    data = pattern(1000)
    writer.write(data[:400])
    writer.write(memoryview(data)[400:])
    objects.put_object("bkt", "k", writer, digests_of(data), Attributes(), CTX)
    obj = objects.get_object("bkt", "k")
    assert obj.segments and objects.blobs.ids() == {obj.segments[0][0]}
    assert content(objects, "k") == data


def test_large_body_for_a_missing_bucket_leaves_no_blob(objects: ObjectStore) -> None:
    with pytest.raises(NoSuchBucket):
        put(objects, "k", pattern(BIG), bucket="nope")
    assert objects.blobs.ids() == set()


@pytest.mark.parametrize(
    ("bucket", "key"), [("nope", "k"), ("bkt", "k" * 1025)], ids=["no-such-bucket", "key-too-long"]
)
def test_a_streamed_body_is_aborted_when_the_put_is_refused(
    objects: ObjectStore, bucket: str, key: str
) -> None:
    """The writer handed to put_object is committed or aborted, never left open (temp file, fd)."""
    spy = SpyWriter(objects.blobs.writer())
    spy.write(pattern(BIG))
    try:
        with pytest.raises((NoSuchBucket, KeyTooLongError)):
            objects.put_object(bucket, key, spy, digests_of(pattern(BIG)), Attributes(), CTX)
        assert spy.state == "aborted"
    finally:
        if spy.state == "open":
            spy.inner.abort()  # close the temp file so the leak does not spill into other tests
    assert objects.blobs.ids() == set()


# -- overwrite and delete release blobs ------------------------------------------------------------


def test_overwriting_a_blob_object_releases_the_old_blob(
    objects: ObjectStore, db: Database
) -> None:
    put(objects, "k", pattern(BIG, 1))
    old_blob = objects.head_object("bkt", "k").segments[0][0]
    put(objects, "k", pattern(BIG, 2))
    new_blob = objects.head_object("bkt", "k").segments[0][0]
    assert new_blob != old_blob
    assert objects.blobs.ids() == {new_blob}
    assert content(objects, "k") == pattern(BIG, 2)
    assert store.released_blobs(db.conn) == []
    if isinstance(objects.blobs, FileBlobStore):
        assert not objects.blobs.path(old_blob).exists()


def test_overwriting_a_blob_object_with_a_small_one_releases_the_blob(objects: ObjectStore) -> None:
    put(objects, "k", pattern(BIG))
    put(objects, "k", b"small")
    assert objects.blobs.ids() == set()
    assert content(objects, "k") == b"small"


def test_overwriting_a_small_object_with_a_large_one(objects: ObjectStore) -> None:
    put(objects, "k", b"small")
    put(objects, "k", pattern(BIG))
    assert content(objects, "k") == pattern(BIG)
    assert len(objects.blobs.ids()) == 1


def test_delete_object(objects: ObjectStore) -> None:
    put(objects, "big", pattern(BIG))
    put(objects, "small", b"x")
    assert objects.delete_object("bkt", "big", CTX) is True
    assert objects.delete_object("bkt", "small", CTX) is True
    assert objects.delete_object("bkt", "small", CTX) is False
    assert objects.blobs.ids() == set()
    with pytest.raises(NoSuchKey):
        objects.get_object("bkt", "big")


def test_deleting_a_missing_key_succeeds(objects: ObjectStore) -> None:
    assert objects.delete_object("bkt", "never", CTX) is False


# -- copy -----------------------------------------------------------------------------------------


def test_copy_keeps_bytes_etag_and_attributes(objects: ObjectStore, clock: FakeClock) -> None:
    attrs = Attributes("text/csv", None, {"a": "1"})
    src = put(objects, "src", b"a,b\n1,2\n", attrs)
    clock.advance(60)
    copy = objects.copy_object(("bkt", "src"), "bkt", "dst", None, CTX)
    assert copy.etag == src.etag and copy.size == src.size
    assert copy.attributes == attrs
    assert copy.last_modified == datetime(2024, 5, 1, 12, 1, 0, tzinfo=UTC)
    assert content(objects, "dst") == b"a,b\n1,2\n"


def test_copy_with_attributes_replaces_them(objects: ObjectStore) -> None:
    put(objects, "src", b"x", Attributes("text/plain", None, {"a": "1"}))
    new = Attributes("application/json", None, {"b": "2"})
    objects.copy_object(("bkt", "src"), "bkt", "dst", new, CTX)
    assert objects.head_object("bkt", "dst").attributes == new
    assert objects.head_object("bkt", "src").attributes.metadata == {"a": "1"}


def test_copy_keeps_or_replaces_the_standard_headers(objects: ObjectStore) -> None:
    put(objects, "src", b"x", HEADERS)
    objects.copy_object(("bkt", "src"), "bkt", "kept", None, CTX)
    objects.copy_object(("bkt", "src"), "bkt", "replaced", Attributes("text/plain"), CTX)
    assert objects.head_object("bkt", "kept").attributes == HEADERS
    assert objects.head_object("bkt", "replaced").attributes == Attributes("text/plain")


def test_copy_of_a_blob_object_gets_its_own_blob(objects: ObjectStore) -> None:
    objects.create_bucket("dest", "us-east-1")
    put(objects, "src", pattern(BIG))
    objects.copy_object(("bkt", "src"), "dest", "dst", None, CTX)
    src_blobs = {b for b, _ in objects.head_object("bkt", "src").segments}
    dst_blobs = {b for b, _ in objects.head_object("dest", "dst").segments}
    assert src_blobs and dst_blobs and not src_blobs & dst_blobs
    objects.delete_object("bkt", "src", CTX)
    assert content(objects, "dst", bucket="dest") == pattern(BIG)
    assert objects.blobs.ids() == dst_blobs


def test_copy_onto_itself_without_new_attributes_is_refused(
    objects: ObjectStore, db: Database
) -> None:
    put(objects, "k", b"x")
    with pytest.raises(InvalidRequest, match="copy an object to itself"):
        objects.copy_object(("bkt", "k"), "bkt", "k", None, CTX)
    assert len(events(db)) == 1


def test_copy_onto_itself_with_new_attributes_replaces_the_blob(objects: ObjectStore) -> None:
    put(objects, "k", pattern(BIG), Attributes("a/b"))
    objects.copy_object(("bkt", "k"), "bkt", "k", Attributes("c/d"), CTX)
    obj = objects.head_object("bkt", "k")
    assert obj.attributes.content_type == "c/d"
    assert objects.blobs.ids() == {obj.segments[0][0]}
    assert content(objects, "k") == pattern(BIG)


def test_copy_of_a_missing_source_is_no_such_key(objects: ObjectStore) -> None:
    with pytest.raises(NoSuchKey):
        objects.copy_object(("bkt", "nope"), "bkt", "dst", None, CTX)


# -- ranged reads ------------------------------------------------------------------------------------


def test_range_reads_of_an_inline_object(objects: ObjectStore) -> None:
    put(objects, "k", b"0123456789")
    obj = objects.get_object("bkt", "k")
    assert b"".join(objects.read(obj, 2, 5)) == b"234"
    assert b"".join(objects.read(obj, 7)) == b"789"
    assert b"".join(objects.read(obj, 4, 4)) == b""


def test_range_reads_across_segments(objects: ObjectStore) -> None:
    data = b"abcdefghijklmnopqrstuvwxyz"
    sizes = [3, 1, 10, 12]
    segments = []
    offset = 0
    for size in sizes:
        writer = objects.blobs.writer()
        writer.write(data[offset : offset + size])
        segments.append((writer.commit(), size))
        offset += size
    obj = ObjectMeta("bkt", "k", len(data), '"x-4"', T0, Attributes(), segments=tuple(segments))
    assert b"".join(objects.read(obj)) == data
    for start in range(len(data) + 1):
        for end in range(start, len(data) + 1):
            assert b"".join(objects.read(obj, start, end)) == data[start:end], (start, end)


# -- outbox events ---------------------------------------------------------------------------------------


def test_each_write_appends_exactly_one_api_call_event(
    objects: ObjectStore, db: Database, clock: FakeClock
) -> None:
    put(objects, "a", b"hello world")
    assert outbox.pending(db.conn, TOPIC) == 1
    objects.copy_object(("bkt", "a"), "bkt", "b", None, CTX)
    assert outbox.pending(db.conn, TOPIC) == 2
    put(objects, "big", pattern(BIG))
    assert outbox.pending(db.conn, TOPIC) == 3
    objects.delete_object("bkt", "a", CTX)
    assert outbox.pending(db.conn, TOPIC) == 4
    assert len(topics(db)) == 4
    assert [e["eventName"] for e in events(db)] == [
        "PutObject",
        "CopyObject",
        "PutObject",
        "DeleteObject",
    ]


def test_a_bucket_without_eventbridge_gets_only_api_call_events(
    objects: ObjectStore, db: Database
) -> None:
    put(objects, "a", b"x")
    objects.delete_object("bkt", "a", CTX)
    assert topics(db) == [TOPIC, TOPIC]


def test_a_bucket_with_eventbridge_also_gets_one_bus_event_per_write(
    objects: ObjectStore, db: Database
) -> None:
    objects.create_bucket("ebb", "us-east-1", eventbridge=True)
    put(objects, "a", b"x", bucket="ebb")
    objects.copy_object(("ebb", "a"), "ebb", "b", None, CTX)
    objects.delete_object("ebb", "a", CTX)
    assert sorted(topics(db)) == sorted([TOPIC] * 3 + ["events.bus"] * 3)
    assert [e["eventName"] for e in events(db)] == ["PutObject", "CopyObject", "DeleteObject"]
    bus = [m["event"] for m in events(db, "events.bus")]
    assert [e["detail-type"] for e in bus] == ["Object Created", "Object Created", "Object Deleted"]
    assert [e["detail"]["object"]["key"] for e in bus] == ["a", "b", "a"]


def test_event_payload_describes_the_call(objects: ObjectStore, db: Database) -> None:
    put(objects, "dir/é.txt", b"hello world")
    objects.copy_object(("bkt", "dir/é.txt"), "bkt", "copy", None, CTX)
    put_event, copy_event = events(db)
    assert put_event["eventName"] == "PutObject"
    assert (put_event["bucket"], put_event["key"], put_event["size"]) == ("bkt", "dir/é.txt", 11)
    assert put_event["etag"] == "5eb63bbbe01eeed093cb22bb8f5acdc3"
    assert put_event["eventTime"] == "2024-05-01T12:00:00Z"
    assert (put_event["requestId"], put_event["accessKeyId"], put_event["sourceIPAddress"]) == (
        "REQ1",
        "AKIATEST",
        "10.0.0.1",
    )
    assert copy_event["source"] == "bkt/dir/é.txt" and copy_event["key"] == "copy"


def test_bucket_operations_and_reads_append_no_events(objects: ObjectStore, db: Database) -> None:
    objects.create_bucket("other", "us-east-1")
    put(objects, "k", b"x")
    objects.get_object("bkt", "k")
    objects.head_object("bkt", "k")
    objects.list_objects("bkt")
    objects.delete_object("bkt", "missing", CTX)
    objects.delete_bucket("other")
    assert topics(db) == [TOPIC]


def test_failed_writes_append_no_event(objects: ObjectStore, db: Database) -> None:
    put(objects, "k", b"x")
    for call in (
        lambda: put(objects, "k", b"y", bucket="nope"),
        lambda: put(objects, "k" * 1025, b"y"),
        lambda: objects.copy_object(("bkt", "missing"), "bkt", "dst", None, CTX),
        lambda: objects.copy_object(("bkt", "k"), "bkt", "k", None, CTX),
        lambda: objects.delete_object("nope", "k", CTX),
    ):
        with pytest.raises((NoSuchBucket, NoSuchKey, KeyTooLongError, InvalidRequest)):
            call()
    assert topics(db) == [TOPIC]


class OutboxDown(Exception):
    pass


@pytest.fixture
def outbox_down(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> int:
        raise OutboxDown

    monkeypatch.setattr(outbox, "append", fail)


@pytest.mark.parametrize("size", [5, BIG])
def test_put_is_undone_when_its_event_cannot_be_recorded(
    objects: ObjectStore, outbox_down: None, size: int
) -> None:
    with pytest.raises(OutboxDown):
        put(objects, "k", pattern(size))
    with pytest.raises(NoSuchKey):
        objects.head_object("bkt", "k")
    assert objects.blobs.ids() == set(), "the new blob must be deleted with the rolled-back write"


def test_overwrite_is_undone_when_its_event_cannot_be_recorded(
    objects: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(objects, "k", pattern(BIG, 1))
    before = objects.blobs.ids()
    monkeypatch.setattr(outbox, "append", lambda *a, **k: (_ for _ in ()).throw(OutboxDown()))
    with pytest.raises(OutboxDown):
        put(objects, "k", pattern(BIG, 2))
    assert content(objects, "k") == pattern(BIG, 1)
    assert objects.blobs.ids() == before


def test_delete_and_copy_are_undone_when_their_event_cannot_be_recorded(
    objects: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(objects, "k", pattern(BIG))
    before = objects.blobs.ids()
    monkeypatch.setattr(outbox, "append", lambda *a, **k: (_ for _ in ()).throw(OutboxDown()))
    with pytest.raises(OutboxDown):
        objects.delete_object("bkt", "k", CTX)
    with pytest.raises(OutboxDown):
        objects.copy_object(("bkt", "k"), "bkt", "copy", None, CTX)
    assert content(objects, "k") == pattern(BIG)
    with pytest.raises(NoSuchKey):
        objects.head_object("bkt", "copy")
    assert objects.blobs.ids() == before


# -- recovery ------------------------------------------------------------------------------------------------


def test_recover_removes_orphans_and_temp_blobs_but_keeps_referenced_ones(
    objects: ObjectStore, db: Database
) -> None:
    put(objects, "big", pattern(BIG))
    multipart = Multipart(objects)
    upload = multipart.create("bkt", "mp", Attributes(), None)
    multipart.upload_part("bkt", "mp", upload.upload_id, 1, b"part", digests_of(b"part"))
    referenced = objects.blobs.ids()
    assert len(referenced) == 2

    orphan = objects.blobs.writer()  # committed, but the crash came before the metadata
    orphan.write(b"orphan")
    orphan_id = orphan.commit()
    released = objects.blobs.writer()  # released by a committed transaction, not yet deleted
    released.write(b"released")
    released_id = released.commit()
    with db.transaction() as conn:
        store.release_blobs(conn, [released_id])
    unfinished = objects.blobs.writer()  # never committed
    unfinished.write(b"half")
    try:
        removed = objects.recover()
    finally:
        unfinished.abort()

    assert objects.blobs.ids() == referenced
    assert orphan_id not in objects.blobs.ids() and released_id not in objects.blobs.ids()
    assert removed == (3 if isinstance(objects.blobs, FileBlobStore) else 2)  # + the temp file
    assert store.released_blobs(db.conn) == []
    assert content(objects, "big") == pattern(BIG)
    if isinstance(objects.blobs, FileBlobStore):
        assert list((objects.blobs.root / "tmp").iterdir()) == []
    assert objects.recover() == 0


def test_recover_on_a_clean_store_removes_nothing(objects: ObjectStore) -> None:
    put(objects, "big", pattern(BIG))
    put(objects, "small", b"x")
    before = objects.blobs.ids()
    assert objects.recover() == 0
    assert objects.blobs.ids() == before
