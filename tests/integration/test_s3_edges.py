"""S3 behaviours found missing by QA, through boto3 and raw signed requests against ``s3batch up``:
part copies of small objects, reads by part number, bucket deletion with uploads left,
DeleteObjects' checks, empty listings, control characters in listings, metadata size,
ranges S3 ignores, the validators of a 304, and us-east-1 location constraints."""

from __future__ import annotations

import base64
import hashlib
import os
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from s3batch.cli.child import ChildServer

MIB = 1024 * 1024


def _error(call: Any, **kwargs: Any) -> tuple[int, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], str(response["Error"]["Code"])


def _raw(server: ChildServer, method: str, path: str, body: bytes = b"", **headers: str) -> Any:
    """A SigV4-signed request of our own making; (status, headers, body)."""
    request = AWSRequest(method=method, url=server.endpoint + path, data=body, headers=headers)
    request.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    keys = server.credentials
    S3SigV4Auth(
        Credentials(keys.access_key_id, keys.secret_access_key), "s3", "us-east-1"
    ).add_auth(request)
    req = urllib.request.Request(
        request.url, data=body or None, method=method, headers=dict(request.headers.items())
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers.items()), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers.items()), e.read()


def test_upload_part_copy_copies_the_bytes_of_small_and_large_sources(s3: Any, bucket: str) -> None:
    small, big = b"0123456789" * 100, os.urandom(5 * MIB + 7)
    s3.put_object(Bucket=bucket, Key="small", Body=small)  # kept inline
    s3.put_object(Bucket=bucket, Key="big", Body=big)  # kept in a blob
    for key, pieces, expected in (
        ("joined", [("big", None), ("small", "bytes=2-5")], big + small[2:6]),
        ("one", [("small", None)], small),  # a part of a single-part upload may be small
    ):
        upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        parts = []
        for number, (source, span) in enumerate(pieces, 1):
            extra = {"CopySourceRange": span} if span else {}
            result = s3.upload_part_copy(
                Bucket=bucket, Key=key, UploadId=upload, PartNumber=number,
                CopySource={"Bucket": bucket, "Key": source}, **extra,
            )  # fmt: skip
            parts.append({"PartNumber": number, "ETag": result["CopyPartResult"]["ETag"]})
        s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}
        )
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == expected
    assert parts[0]["ETag"] == f'"{hashlib.md5(small).hexdigest()}"'


@pytest.mark.parametrize("span", ["garbage", "bytes=0-", "bytes=5-2"])
def test_a_copy_source_range_must_be_first_to_last(s3: Any, bucket: str, span: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x" * 100)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    status, code = _error(
        s3.upload_part_copy, Bucket=bucket, Key="dst", UploadId=upload, PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange=span,
    )  # fmt: skip
    assert (status, code) == (400, "InvalidArgument")
    status, code = _error(
        s3.upload_part_copy, Bucket=bucket, Key="dst", UploadId=upload, PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange="bytes=50-100",
    )  # fmt: skip
    assert (status, code) == (416, "InvalidRange")


def test_get_and_head_by_part_number(s3: Any, bucket: str) -> None:
    first, second = os.urandom(5 * MIB), os.urandom(1000)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    parts = [
        {"PartNumber": n, "ETag": s3.upload_part(
            Bucket=bucket, Key="mp", UploadId=upload, PartNumber=n, Body=data)["ETag"]}
        for n, data in ((1, first), (2, second))
    ]  # fmt: skip
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    got = s3.get_object(Bucket=bucket, Key="mp", PartNumber=2)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206 and got["PartsCount"] == 2
    assert got["ContentRange"] == f"bytes {len(first)}-{len(first) + 999}/{len(first) + 1000}"
    assert got["Body"].read() == second
    head = s3.head_object(Bucket=bucket, Key="mp", PartNumber=1)
    assert head["ContentLength"] == len(first) and head["PartsCount"] == 2
    assert _error(s3.get_object, Bucket=bucket, Key="mp", PartNumber=3) == (
        416,
        "InvalidPartNumber",
    )
    s3.put_object(Bucket=bucket, Key="whole", Body=b"abc")
    assert s3.get_object(Bucket=bucket, Key="whole", PartNumber=1)["Body"].read() == b"abc"


def test_a_bucket_with_only_unfinished_uploads_can_be_deleted(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"part")
    s3.put_object(Bucket=bucket, Key="o", Body=b"1")
    assert _error(s3.delete_bucket, Bucket=bucket) == (409, "BucketNotEmpty")
    s3.delete_object(Bucket=bucket, Key="o")
    s3.delete_bucket(Bucket=bucket)
    assert _error(s3.head_bucket, Bucket=bucket)[0] == 404


def test_delete_objects_needs_its_bucket_a_digest_and_a_key(
    s3: Any, bucket: str, server: ChildServer
) -> None:
    assert _error(
        s3.delete_objects, Bucket="no-such-bucket-qa", Delete={"Objects": [{"Key": "x"}]}
    ) == (404, "NoSuchBucket")
    body = b"<Delete><Object><Key>zzz</Key></Object></Delete>"
    status, _, answer = _raw(server, "POST", f"/{bucket}?delete", body)
    assert status == 400 and b"Content-MD5" in answer
    empty = b"<Delete></Delete>"
    md5 = base64.b64encode(hashlib.md5(empty).digest()).decode()
    status, _, answer = _raw(server, "POST", f"/{bucket}?delete", empty, **{"Content-MD5": md5})
    assert status == 400 and b"<Code>MalformedXML</Code>" in answer


def test_max_keys_zero_is_an_empty_page_not_truncated(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="a", Body=b"1")
    v2 = s3.list_objects_v2(Bucket=bucket, MaxKeys=0)
    assert (v2["KeyCount"], v2["IsTruncated"], "NextContinuationToken" in v2) == (0, False, False)
    assert s3.list_objects(Bucket=bucket, MaxKeys=0)["IsTruncated"] is False


def test_listings_write_control_characters_as_references(
    s3: Any, bucket: str, server: ChildServer
) -> None:
    s3.put_object(Bucket=bucket, Key="cr\rkey", Body=b"x")
    status, _, body = _raw(server, "GET", f"/{bucket}?list-type=2")
    assert status == 200 and b"<Key>cr&#13;key</Key>" in body
    keys = [e.text for e in ET.fromstring(body).iter() if e.tag.endswith("Key")]
    assert "cr\rkey" in keys  # the parser reads the key back as it was stored


def test_user_metadata_over_2_kb_is_refused(s3: Any, bucket: str) -> None:
    assert _error(
        s3.put_object, Bucket=bucket, Key="m", Body=b"1", Metadata={"big": "x" * 2100}
    ) == (400, "MetadataTooLarge")
    s3.put_object(Bucket=bucket, Key="m", Body=b"1", Metadata={"ok": "x" * 2000})


def test_a_range_ending_before_it_starts_is_ignored(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789")
    got = s3.get_object(Bucket=bucket, Key="r", Range="bytes=3-1")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200 and got["Body"].read() == b"0123456789"


def test_not_modified_carries_the_etag_and_last_modified(
    s3: Any, bucket: str, server: ChildServer
) -> None:
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"hello")["ETag"]
    status, headers, _ = _raw(server, "GET", f"/{bucket}/c", **{"If-None-Match": etag})
    lowered = {k.lower(): v for k, v in headers.items()}
    assert status == 304 and lowered["etag"] == etag and lowered["last-modified"].endswith("GMT")


def test_us_east_1_is_not_a_location_constraint(s3: Any) -> None:
    status, code = _error(
        s3.create_bucket,
        Bucket="qa-location-test",
        CreateBucketConfiguration={"LocationConstraint": "us-east-1"},
    )
    assert (status, code) == (400, "InvalidLocationConstraint")
