"""Multipart uploads: parts in any order, completion in part order, abort, replacement."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from datetime import UTC, datetime

import pytest
from blob_spies import SpyWriter

from s3batch.clock import FakeClock
from s3batch.objectstore import store
from s3batch.objectstore.blobs import BlobStore
from s3batch.objectstore.checksums import BodyDigest, Digests
from s3batch.objectstore.errors import (
    EntityTooSmall,
    InvalidPart,
    InvalidPartOrder,
    KeyTooLongError,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
)
from s3batch.objectstore.models import Attributes, Checksum, MultipartUpload
from s3batch.objectstore.multipart import MIN_PART_SIZE, Multipart
from s3batch.objectstore.service import ObjectStore
from s3batch.state import outbox
from s3batch.state.db import Database
from s3batch.types import RequestContext

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
CTX = RequestContext(request_id="REQ-MP")
TOPIC = "s3.api_call"

# Non-last parts must be at least 5 MiB; distinct fill bytes make any misordering visible.
PART1 = b"1" * MIN_PART_SIZE
PART2 = b"2" * MIN_PART_SIZE
LAST = b"the last part may be small"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def objects(db: Database, blobs: BlobStore, clock: FakeClock) -> ObjectStore:
    service = ObjectStore(db, blobs, clock)
    service.create_bucket("bkt", "us-east-1")
    return service


@pytest.fixture
def mp(objects: ObjectStore) -> Multipart:
    return Multipart(objects)


@pytest.fixture
def upload(mp: Multipart) -> MultipartUpload:
    return mp.create(
        "bkt", "big.bin", Attributes("application/octet-stream", None, {"m": "1"}), None
    )


def digests_of(data: bytes, algorithm: str | None = None) -> Digests:
    body = BodyDigest(want_sha256=False, checksum_algorithm=algorithm)
    body.update(data)
    return body.result()


def quoted_md5(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


def send(
    mp: Multipart, upload: MultipartUpload, number: int, data: bytes, algorithm: str | None = None
) -> str:
    part = mp.upload_part(
        upload.bucket, upload.key, upload.upload_id, number, data, digests_of(data, algorithm)
    )
    return part.etag


def read(objects: ObjectStore, key: str) -> bytes:
    return b"".join(objects.read(objects.get_object("bkt", key)))


def event_names(db: Database) -> list[str]:
    return [
        json.loads(r["payload"])["eventName"]
        for r in db.conn.execute("SELECT payload FROM outbox ORDER BY id")
    ]


# -- create / list ------------------------------------------------------------------------------


def test_create_records_the_upload(mp: Multipart, upload: MultipartUpload) -> None:
    assert upload.initiated == T0
    assert mp.upload("bkt", "big.bin", upload.upload_id) == upload
    assert mp.list_uploads("bkt") == [upload]
    assert mp.parts("bkt", "big.bin", upload.upload_id) == []
    other = mp.create("bkt", "big.bin", Attributes(), None)
    assert other.upload_id != upload.upload_id
    assert {u.upload_id for u in mp.list_uploads("bkt")} == {upload.upload_id, other.upload_id}


def test_create_checks_bucket_and_key(mp: Multipart) -> None:
    with pytest.raises(NoSuchBucket):
        mp.create("nope", "k", Attributes(), None)
    with pytest.raises(KeyTooLongError):
        mp.create("bkt", "k" * 1025, Attributes(), None)
    with pytest.raises(NoSuchBucket):
        mp.list_uploads("nope")


def test_an_upload_is_found_only_under_its_own_bucket_and_key(
    mp: Multipart, upload: MultipartUpload
) -> None:
    with pytest.raises(NoSuchUpload):
        mp.upload("bkt", "other-key", upload.upload_id)
    with pytest.raises(NoSuchUpload):
        mp.upload("bkt", "big.bin", "not-an-upload")
    with pytest.raises(NoSuchBucket):
        mp.upload("nope", "big.bin", upload.upload_id)
    with pytest.raises(NoSuchUpload):
        send(mp, MultipartUpload("missing", "bkt", "big.bin", T0, Attributes()), 1, b"x")


# -- parts and completion ----------------------------------------------------------------------------


def test_parts_uploaded_out_of_order_complete_in_part_order(
    mp: Multipart, objects: ObjectStore, upload: MultipartUpload, db: Database
) -> None:
    e3 = send(mp, upload, 3, LAST)
    e1 = send(mp, upload, 1, PART1)
    e2 = send(mp, upload, 2, PART2)
    assert [p.part_number for p in mp.parts("bkt", "big.bin", upload.upload_id)] == [1, 2, 3]
    assert (e1, e2, e3) == (quoted_md5(PART1), quoted_md5(PART2), quoted_md5(LAST))

    obj = mp.complete("bkt", "big.bin", upload.upload_id, [(1, e1), (2, e2), (3, e3)], CTX)

    expected_etag = hashlib.md5(
        b"".join(hashlib.md5(p).digest() for p in (PART1, PART2, LAST))
    ).hexdigest()
    assert obj.etag == f'"{expected_etag}-3"'
    assert obj.size == 2 * MIN_PART_SIZE + len(LAST)
    assert obj.attributes == upload.attributes
    stored = objects.head_object("bkt", "big.bin")
    assert (stored.etag, stored.size) == (obj.etag, obj.size)
    data = read(objects, "big.bin")
    assert data == PART1 + PART2 + LAST
    assert event_names(db) == ["CompleteMultipartUpload"]
    assert (
        json.loads(db.conn.execute("SELECT payload FROM outbox").fetchone()["payload"])["uploadId"]
        == upload.upload_id
    )


def test_completed_upload_is_gone_and_cannot_be_completed_again(
    mp: Multipart, upload: MultipartUpload
) -> None:
    etag = send(mp, upload, 1, LAST)
    mp.complete("bkt", "big.bin", upload.upload_id, [(1, etag)], CTX)
    assert mp.list_uploads("bkt") == []
    with pytest.raises(NoSuchUpload):
        mp.parts("bkt", "big.bin", upload.upload_id)
    with pytest.raises(NoSuchUpload):
        mp.complete("bkt", "big.bin", upload.upload_id, [(1, etag)], CTX)


def test_ranged_read_across_part_boundaries(
    mp: Multipart, objects: ObjectStore, upload: MultipartUpload
) -> None:
    e1, e2, e3 = send(mp, upload, 1, PART1), send(mp, upload, 2, PART2), send(mp, upload, 3, LAST)
    obj = mp.complete("bkt", "big.bin", upload.upload_id, [(1, e1), (2, e2), (3, e3)], CTX)
    whole = PART1 + PART2 + LAST
    b1, b2 = MIN_PART_SIZE, 2 * MIN_PART_SIZE
    for start, end in [
        (b1 - 3, b1 + 3),
        (b1 - 1, b2 + 5),
        (b2, b2 + 4),
        (0, 1),
        (b2 + 4, obj.size),
    ]:
        assert b"".join(objects.read(obj, start, end)) == whole[start:end], (start, end)


def test_a_single_small_part_completes(
    mp: Multipart, objects: ObjectStore, upload: MultipartUpload
) -> None:
    etag = send(mp, upload, 7, b"tiny")
    obj = mp.complete("bkt", "big.bin", upload.upload_id, [(7, etag)], CTX)
    assert obj.etag == f'"{hashlib.md5(hashlib.md5(b"tiny").digest()).hexdigest()}-1"'
    assert read(objects, "big.bin") == b"tiny"


def test_parts_left_out_of_the_completion_are_released(
    mp: Multipart, objects: ObjectStore, upload: MultipartUpload
) -> None:
    e1 = send(mp, upload, 1, PART1)
    send(mp, upload, 2, b"dropped")
    e3 = send(mp, upload, 3, LAST)
    obj = mp.complete("bkt", "big.bin", upload.upload_id, [(1, e1), (3, e3)], CTX)
    assert read(objects, "big.bin") == PART1 + LAST
    assert objects.blobs.ids() == {b for b, _ in obj.segments}
    assert len(obj.segments) == 2


def test_complete_accepts_etags_with_or_without_quotes(
    mp: Multipart, objects: ObjectStore, upload: MultipartUpload
) -> None:
    etag = send(mp, upload, 1, LAST)
    mp.complete("bkt", "big.bin", upload.upload_id, [(1, etag.strip('"'))], CTX)
    assert read(objects, "big.bin") == LAST


def test_completing_over_an_existing_object_replaces_it_and_releases_its_blobs(
    mp: Multipart, objects: ObjectStore, upload: MultipartUpload
) -> None:
    old = b"o" * (300 * 1024)
    objects.put_object("bkt", "big.bin", old, digests_of(old), Attributes(), CTX)
    old_blobs = {b for b, _ in objects.head_object("bkt", "big.bin").segments}
    assert old_blobs
    etag = send(mp, upload, 1, LAST)
    obj = mp.complete("bkt", "big.bin", upload.upload_id, [(1, etag)], CTX)
    assert read(objects, "big.bin") == LAST
    assert objects.blobs.ids() == {b for b, _ in obj.segments}


def test_composite_checksum_of_a_completed_upload(mp: Multipart, objects: ObjectStore) -> None:
    upload = mp.create("bkt", "sum", Attributes(), "CRC32")
    e1 = send(mp, upload, 1, PART1, "CRC32")
    e2 = send(mp, upload, 2, LAST, "CRC32")
    part_values = [p.checksum_value for p in mp.parts("bkt", "sum", upload.upload_id)]
    assert part_values == [
        digests_of(PART1, "CRC32").checksum_value,
        digests_of(LAST, "CRC32").checksum_value,
    ]
    obj = mp.complete("bkt", "sum", upload.upload_id, [(1, e1), (2, e2)], CTX)
    inner = b"".join(base64.b64decode(v or "") for v in part_values)
    expected = base64.b64encode(zlib.crc32(inner).to_bytes(4, "big")).decode() + "-2"
    assert obj.checksum == Checksum("CRC32", expected, "COMPOSITE")
    assert objects.head_object("bkt", "sum").checksum == obj.checksum


# -- refusals ----------------------------------------------------------------------------------------


def test_a_small_part_that_is_not_the_last_is_entity_too_small(
    mp: Multipart, objects: ObjectStore, upload: MultipartUpload, db: Database
) -> None:
    short = PART1[:-1]
    e1 = send(mp, upload, 1, short)
    e2 = send(mp, upload, 2, LAST)
    with pytest.raises(EntityTooSmall) as info:
        mp.complete("bkt", "big.bin", upload.upload_id, [(1, e1), (2, e2)], CTX)
    assert info.value.details == {
        "ProposedSize": MIN_PART_SIZE - 1,
        "MinSizeAllowed": MIN_PART_SIZE,
        "PartNumber": 1,
    }
    # Nothing happened: the upload can still be fixed and completed.
    with pytest.raises(NoSuchKey):
        objects.head_object("bkt", "big.bin")
    assert event_names(db) == []
    e1 = send(mp, upload, 1, PART1)
    mp.complete("bkt", "big.bin", upload.upload_id, [(1, e1), (2, e2)], CTX)
    assert read(objects, "big.bin") == PART1 + LAST


@pytest.mark.parametrize(
    "chosen",
    [
        pytest.param([(1, '"00000000000000000000000000000000"')], id="wrong-etag"),
        pytest.param([(2, "whatever")], id="never-uploaded"),
        pytest.param([], id="no-parts"),
    ],
)
def test_parts_that_do_not_match_are_invalid_part(
    mp: Multipart, objects: ObjectStore, upload: MultipartUpload, chosen: list[tuple[int, str]]
) -> None:
    send(mp, upload, 1, LAST)
    with pytest.raises(InvalidPart) as info:
        mp.complete("bkt", "big.bin", upload.upload_id, chosen, CTX)
    assert info.value.code == "InvalidPart"
    if chosen:
        assert info.value.details == {"PartNumber": chosen[0][0], "ETag": chosen[0][1]}
    assert len(mp.parts("bkt", "big.bin", upload.upload_id)) == 1
    with pytest.raises(NoSuchKey):
        objects.head_object("bkt", "big.bin")


@pytest.mark.parametrize("order", [[2, 1], [1, 1], [1, 3, 2]])
def test_parts_not_in_ascending_order_are_invalid_part_order(
    mp: Multipart, upload: MultipartUpload, order: list[int]
) -> None:
    etags = {n: send(mp, upload, n, PART1 if n < 3 else LAST) for n in sorted(set(order))}
    with pytest.raises(InvalidPartOrder) as info:
        mp.complete("bkt", "big.bin", upload.upload_id, [(n, etags[n]) for n in order], CTX)
    assert info.value.code == "InvalidPartOrder"
    assert len(mp.parts("bkt", "big.bin", upload.upload_id)) == len(etags)


def test_complete_is_undone_when_its_event_cannot_be_recorded(
    mp: Multipart, objects: ObjectStore, upload: MultipartUpload, monkeypatch: pytest.MonkeyPatch
) -> None:
    etag = send(mp, upload, 1, LAST)
    blobs_before = objects.blobs.ids()

    def fail(*args: object, **kwargs: object) -> int:
        raise RuntimeError("outbox down")

    monkeypatch.setattr(outbox, "append", fail)
    with pytest.raises(RuntimeError, match="outbox down"):
        mp.complete("bkt", "big.bin", upload.upload_id, [(1, etag)], CTX)
    with pytest.raises(NoSuchKey):
        objects.head_object("bkt", "big.bin")
    assert [p.etag for p in mp.parts("bkt", "big.bin", upload.upload_id)] == [etag]
    assert objects.blobs.ids() == blobs_before


# -- replacing parts, aborting --------------------------------------------------------------------------


def test_replacing_a_part_releases_the_old_blob(
    mp: Multipart, objects: ObjectStore, upload: MultipartUpload
) -> None:
    send(mp, upload, 1, b"first version")
    (first,) = mp.parts("bkt", "big.bin", upload.upload_id)
    etag = send(mp, upload, 1, b"second version")
    (second,) = mp.parts("bkt", "big.bin", upload.upload_id)
    assert second.etag == etag == quoted_md5(b"second version")
    assert second.blob_id != first.blob_id
    assert objects.blobs.ids() == {second.blob_id}
    with pytest.raises(InvalidPart):
        mp.complete("bkt", "big.bin", upload.upload_id, [(1, first.etag)], CTX)
    mp.complete("bkt", "big.bin", upload.upload_id, [(1, etag)], CTX)
    assert read(objects, "big.bin") == b"second version"


def test_abort_deletes_the_upload_and_its_part_blobs(
    mp: Multipart, objects: ObjectStore, upload: MultipartUpload, db: Database
) -> None:
    send(mp, upload, 1, PART1)
    send(mp, upload, 2, LAST)
    assert len(objects.blobs.ids()) == 2
    mp.abort("bkt", "big.bin", upload.upload_id)
    assert objects.blobs.ids() == set()
    assert store.released_blobs(db.conn) == []
    assert mp.list_uploads("bkt") == []
    with pytest.raises(NoSuchUpload):
        mp.parts("bkt", "big.bin", upload.upload_id)
    with pytest.raises(NoSuchUpload):
        mp.abort("bkt", "big.bin", upload.upload_id)
    with pytest.raises(NoSuchKey):
        objects.head_object("bkt", "big.bin")
    assert event_names(db) == []
    objects.delete_bucket("bkt")  # nothing left behind


def test_abort_leaves_other_uploads_alone(
    mp: Multipart, objects: ObjectStore, upload: MultipartUpload
) -> None:
    other = mp.create("bkt", "other", Attributes(), None)
    send(mp, upload, 1, b"mine")
    send(mp, other, 1, b"theirs")
    mp.abort("bkt", "big.bin", upload.upload_id)
    (kept,) = mp.parts("bkt", "other", other.upload_id)
    assert objects.blobs.ids() == {kept.blob_id}


def test_a_streamed_part_is_aborted_when_the_upload_is_unknown(
    mp: Multipart, objects: ObjectStore
) -> None:
    """The writer handed to upload_part is committed or aborted, never left open (temp file, fd)."""
    spy = SpyWriter(objects.blobs.writer())
    spy.write(b"part bytes")
    try:
        with pytest.raises(NoSuchUpload):
            mp.upload_part("bkt", "k", "no-such-upload", 1, spy, digests_of(b"part bytes"))
        assert spy.state == "aborted"
    finally:
        if spy.state == "open":
            spy.inner.abort()
    assert objects.blobs.ids() == set()


def test_an_upload_keeps_the_standard_headers_for_its_object(
    mp: Multipart, objects: ObjectStore
) -> None:
    attrs = Attributes(
        "text/csv",
        None,
        {},
        cache_control="no-cache",
        content_disposition="inline",
        content_language="de",
        expires="Thu, 01 Jan 2037 00:00:00 GMT",
    )
    upload = mp.create("bkt", "headers", attrs, None)
    assert mp.upload("bkt", "headers", upload.upload_id).attributes == attrs
    etag = send(mp, upload, 1, LAST)
    mp.complete("bkt", "headers", upload.upload_id, [(1, etag)], CTX)
    assert objects.head_object("bkt", "headers").attributes == attrs
