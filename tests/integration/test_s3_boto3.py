"""boto3 against ``s3batch up`` over HTTP: objects, keys, listings, ranges, copies, errors."""

from __future__ import annotations

import hashlib
import os
import urllib.request

import pytest
from botocore.exceptions import ClientError

from s3batch.cli.child import ChildServer

AWKWARD_KEYS = [
    "with space.csv",
    "plus+sign.csv",
    "percent%20literal.csv",
    "ünïcödé/日本語.csv",
    "../dotdot.csv",
    "x/../y.csv",
    "double//slash.csv",
    "//leading",
    "tilde~star*paren().csv",
    "q?mark#hash.csv",
    "new\nline",
    "trailing/",
]


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_put_get_head_round_trip(s3, bucket: str) -> None:
    body = os.urandom(4096)
    put = s3.put_object(
        Bucket=bucket,
        Key="k.bin",
        Body=body,
        ContentType="text/csv",
        Metadata={"owner": "data-team"},
    )
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="k.bin")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/csv"
    assert got["Metadata"] == {"owner": "data-team"}
    head = s3.head_object(Bucket=bucket, Key="k.bin")
    assert head["ContentLength"] == 4096 and head["ETag"] == put["ETag"]


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_awkward_keys_are_ordinary_keys(s3, bucket: str, key: str) -> None:
    body = key.encode() * 3
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert listed == [key]
    s3.delete_object(Bucket=bucket, Key=key)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_dotdot_keys_never_touch_files(s3, bucket: str, server: ChildServer) -> None:
    s3.put_object(Bucket=bucket, Key="../../../../escape.txt", Body=b"x" * 300_000)
    assert not (server.data_dir.parent / "escape.txt").exists()
    assert s3.get_object(Bucket=bucket, Key="../../../../escape.txt")["ContentLength"] == 300_000


def test_listing_prefix_delimiter_and_pages(s3, bucket: str) -> None:
    keys = [f"logs/2026/{m:02d}/{d:02d}.csv" for m in (1, 2) for d in range(1, 6)] + [
        "logs/readme",
        "other.txt",
    ]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"1")
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["logs/"]
    assert [o["Key"] for o in top["Contents"]] == ["other.txt"]
    months = s3.list_objects_v2(Bucket=bucket, Prefix="logs/2026/", Delimiter="/")
    assert [p["Prefix"] for p in months["CommonPrefixes"]] == ["logs/2026/01/", "logs/2026/02/"]
    seen, token = [], None
    while True:
        kwargs = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=bucket, Prefix="logs/", MaxKeys=3, **kwargs)
        assert page["KeyCount"] <= 3
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == sorted(k for k in keys if k.startswith("logs/"))
    paginator = s3.get_paginator("list_objects")
    v1 = [
        o["Key"]
        for p in paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 4})
        for o in p.get("Contents", [])
    ]
    assert v1 == sorted(keys)


def test_ranged_get(s3, bucket: str) -> None:
    body = bytes(range(256)) * 2000
    s3.put_object(Bucket=bucket, Key="r", Body=body)
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=10-19")["Body"].read() == body[10:20]
    tail = s3.get_object(Bucket=bucket, Key="r", Range="bytes=-100")
    assert tail["Body"].read() == body[-100:]
    assert tail["ContentRange"] == f"bytes {len(body) - 100}-{len(body) - 1}/{len(body)}"
    assert (
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=511990-")["Body"].read() == body[511990:]
    )
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="r", Range=f"bytes={len(body)}-")
    assert _code(exc) == "InvalidRange"


def test_copy_object_copies_bytes_and_metadata(s3, bucket: str) -> None:
    body = os.urandom(300_000)
    s3.put_object(Bucket=bucket, Key="src key+1", Body=body, Metadata={"a": "1"})
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src key+1"})
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == body and got["Metadata"] == {"a": "1"}
    s3.copy_object(
        Bucket=bucket,
        Key="dst2",
        CopySource=f"{bucket}/src key+1",
        MetadataDirective="REPLACE",
        Metadata={"b": "2"},
    )
    assert s3.head_object(Bucket=bucket, Key="dst2")["Metadata"] == {"b": "2"}


def test_multipart_upload_and_abort_leave_nothing(s3, bucket: str, server: ChildServer) -> None:
    blobs = server.data_dir / "blobs"

    def blob_count() -> int:
        return sum(1 for d in blobs.iterdir() if d.name != "tmp" for _ in d.iterdir())

    before = blob_count()
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big")
    s3.upload_part(
        Bucket=bucket,
        Key="big",
        UploadId=upload["UploadId"],
        PartNumber=1,
        Body=os.urandom(5 * 1024 * 1024),
    )
    s3.upload_part(
        Bucket=bucket, Key="big", UploadId=upload["UploadId"], PartNumber=2, Body=b"tail"
    )
    assert blob_count() == before + 2
    s3.abort_multipart_upload(Bucket=bucket, Key="big", UploadId=upload["UploadId"])
    assert blob_count() == before
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    with pytest.raises(ClientError) as exc:
        s3.upload_part(
            Bucket=bucket, Key="big", UploadId=upload["UploadId"], PartNumber=3, Body=b"x"
        )
    assert _code(exc) == "NoSuchUpload"


def test_multipart_complete_etag_and_small_part_rule(s3, bucket: str) -> None:
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(1000)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")
    etags = [
        s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=n, Body=b)[
            "ETag"
        ]
        for n, b in ((2, parts[1]), (1, parts[0]))
    ][::-1]
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)]},
    )
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-2"
    assert done["ETag"] == f'"{expected}"'
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"".join(parts)
    small = s3.create_multipart_upload(Bucket=bucket, Key="small")
    tags = [
        s3.upload_part(
            Bucket=bucket, Key="small", UploadId=small["UploadId"], PartNumber=n, Body=b"x"
        )["ETag"]
        for n in (1, 2)
    ]
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="small",
            UploadId=small["UploadId"],
            MultipartUpload={
                "Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(tags)]
            },
        )
    assert _code(exc) == "EntityTooSmall"


def test_checksums_are_verified(s3, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"hello", ChecksumCRC32="AAAAAA==")
    assert _code(exc) == "BadDigest"
    with pytest.raises(ClientError) as exc:
        s3.put_object(
            Bucket=bucket, Key="bad", Body=b"hello", ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg=="
        )
    assert _code(exc) == "BadDigest"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    s3.put_object(Bucket=bucket, Key="good", Body=b"hello", ChecksumAlgorithm="SHA256")
    head = s3.head_object(Bucket=bucket, Key="good", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="


def test_errors_have_s3_codes(s3, bucket: str) -> None:
    cases = [
        (lambda: s3.get_object(Bucket=bucket, Key="missing"), "NoSuchKey"),
        (lambda: s3.get_object(Bucket="no-such-bucket-here", Key="k"), "NoSuchBucket"),
        (lambda: s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b""), "KeyTooLongError"),
        (lambda: s3.create_bucket(Bucket="Bad_Name"), "InvalidBucketName"),
        (lambda: s3.create_bucket(Bucket=bucket), "BucketAlreadyOwnedByYou"),
    ]
    for call, code in cases:
        with pytest.raises(ClientError) as exc:
            call()
        assert _code(exc) == code
    s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=bucket)
    assert _code(exc) == "BucketNotEmpty"
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="missing")
    assert _code(exc) == "404"


def test_delete_objects(s3, bucket: str) -> None:
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"1")
    result = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "zz"}]}
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["a", "b", "zz"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["c"]


def test_a_conditional_put_never_overwrites_what_it_was_told_not_to(s3, bucket: str) -> None:
    first = s3.put_object(Bucket=bucket, Key="once.csv", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as exists:
        s3.put_object(Bucket=bucket, Key="once.csv", Body=b"second", IfNoneMatch="*")
    assert _code(exists) == "PreconditionFailed"
    assert exists.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    with pytest.raises(ClientError) as stale:
        s3.put_object(
            Bucket=bucket,
            Key="once.csv",
            Body=b"third",
            IfMatch='"0123456789abcdef0123456789abcdef"',
        )
    assert _code(stale) == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="once.csv")["Body"].read() == b"first"
    s3.put_object(Bucket=bucket, Key="once.csv", Body=b"fourth", IfMatch=first["ETag"])
    assert s3.get_object(Bucket=bucket, Key="once.csv")["Body"].read() == b"fourth"
    with pytest.raises(ClientError) as missing:
        s3.put_object(Bucket=bucket, Key="never.csv", Body=b"x", IfMatch=first["ETag"])
    assert _code(missing) == "NoSuchKey"
    assert s3.list_objects_v2(Bucket=bucket, Prefix="never")["KeyCount"] == 0


def test_a_conditional_multipart_completion_keeps_the_upload_when_refused(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="landing.bin", Body=b"already here")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="landing.bin")["UploadId"]
    part = s3.upload_part(
        Bucket=bucket, Key="landing.bin", UploadId=upload, PartNumber=1, Body=b"new"
    )
    parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    with pytest.raises(ClientError) as exists:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="landing.bin",
            UploadId=upload,
            MultipartUpload=parts,
            IfNoneMatch="*",
        )
    assert _code(exists) == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="landing.bin")["Body"].read() == b"already here"
    s3.delete_object(Bucket=bucket, Key="landing.bin")
    s3.complete_multipart_upload(
        Bucket=bucket, Key="landing.bin", UploadId=upload, MultipartUpload=parts, IfNoneMatch="*"
    )
    assert s3.get_object(Bucket=bucket, Key="landing.bin")["Body"].read() == b"new"


def test_a_conditional_put_keeps_a_large_object_too(s3, bucket: str) -> None:
    """Bodies above the inline limit are blob files: a refused write leaves the old one readable."""
    big = os.urandom(300 * 1024)
    s3.put_object(Bucket=bucket, Key="big.bin", Body=big)
    with pytest.raises(ClientError) as exists:
        s3.put_object(Bucket=bucket, Key="big.bin", Body=os.urandom(300 * 1024), IfNoneMatch="*")
    assert _code(exists) == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == big


def test_get_object_honours_the_response_header_overrides(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="report", Body=b"a,b\n", ContentType="binary/octet-stream")
    got = s3.get_object(
        Bucket=bucket,
        Key="report",
        ResponseContentType="text/csv",
        ResponseContentDisposition='attachment; filename="report.csv"',
        ResponseCacheControl="no-store",
        ResponseContentLanguage="en",
        ResponseContentEncoding="identity",
    )
    assert got["ContentType"] == "text/csv"
    assert got["ContentDisposition"] == 'attachment; filename="report.csv"'
    assert (got["CacheControl"], got["ContentLanguage"], got["ContentEncoding"]) == (
        "no-store",
        "en",
        "identity",
    )
    url = s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": "report", "ResponseContentType": "text/plain"},
    )
    with urllib.request.urlopen(url) as response:
        assert response.headers["Content-Type"] == "text/plain"
