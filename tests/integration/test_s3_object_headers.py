"""boto3 against ``s3batch up``: the standard object headers S3 stores, and object owners in listings."""

from __future__ import annotations

from datetime import UTC, datetime

#: The standard headers a writer may set, as boto3 names them, with the values used here.
HEADERS = {
    "CacheControl": "max-age=3600, public",
    "ContentDisposition": 'attachment; filename="persons.csv"',
    "ContentLanguage": "en-GB",
    "Expires": datetime(2037, 1, 1, 12, 30, tzinfo=UTC),
}
#: How ``Expires`` comes back on the wire (boto3 also parses it into a datetime).
EXPIRES_STRING = "Thu, 01 Jan 2037 12:30:00 GMT"


def _headers_of(response: dict[str, object]) -> dict[str, object]:
    """The standard headers of a GetObject/HeadObject response, as boto3 names them."""
    return {name: response.get(name) for name in [*HEADERS, "ExpiresString"]}


def _expected(**values: object) -> dict[str, object]:
    return {**HEADERS, "ExpiresString": EXPIRES_STRING, **values}


def test_put_object_headers_come_back_on_get_and_head(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="persons.csv", Body=b"id,email\n", **HEADERS)
    got = s3.get_object(Bucket=bucket, Key="persons.csv")
    assert got["Body"].read() == b"id,email\n"
    assert _headers_of(got) == _expected()
    assert _headers_of(s3.head_object(Bucket=bucket, Key="persons.csv")) == _expected()


def test_an_object_without_them_has_none(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="plain", Body=b"x")
    head = s3.head_object(Bucket=bucket, Key="plain")
    assert _headers_of(head) == dict.fromkeys([*HEADERS, "ExpiresString"])


def test_multipart_upload_headers_reach_the_completed_object(s3, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big.csv", **HEADERS)
    part = s3.upload_part(
        Bucket=bucket, Key="big.csv", UploadId=upload["UploadId"], PartNumber=1, Body=b"a,b\n"
    )
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="big.csv",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert _headers_of(s3.head_object(Bucket=bucket, Key="big.csv")) == _expected()


def test_copy_object_copies_the_headers_by_default(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", **HEADERS)
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert _headers_of(s3.head_object(Bucket=bucket, Key="dst")) == _expected()


def test_copy_object_with_replace_takes_the_new_headers(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", **HEADERS)
    s3.copy_object(
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "src"},
        MetadataDirective="REPLACE",
        CacheControl="no-store",
        ContentLanguage="fr",
    )
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert _headers_of(head) == {
        "CacheControl": "no-store",
        "ContentDisposition": None,
        "ContentLanguage": "fr",
        "Expires": None,
        "ExpiresString": None,
    }


def test_response_overrides_win_over_the_stored_headers(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="report", Body=b"a,b\n", **HEADERS)
    got = s3.get_object(
        Bucket=bucket,
        Key="report",
        ResponseCacheControl="no-cache",
        ResponseContentDisposition="inline",
        ResponseContentLanguage="de",
        ResponseExpires=datetime(2030, 6, 1, tzinfo=UTC),
    )
    assert _headers_of(got) == {
        "CacheControl": "no-cache",
        "ContentDisposition": "inline",
        "ContentLanguage": "de",
        "Expires": datetime(2030, 6, 1, tzinfo=UTC),
        "ExpiresString": "Sat, 01 Jun 2030 00:00:00 GMT",
    }


def test_list_objects_v2_lists_owners_only_when_asked(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="a", Body=b"1")
    owner = s3.list_buckets()["Owner"]
    assert set(owner) == {"ID", "DisplayName"}
    fetched = s3.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"]
    assert [o["Owner"] for o in fetched] == [owner]
    assert "Owner" not in s3.list_objects_v2(Bucket=bucket)["Contents"][0]
    assert "Owner" not in s3.list_objects_v2(Bucket=bucket, FetchOwner=False)["Contents"][0]


def test_list_objects_v1_always_lists_owners(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="a", Body=b"1")
    owner = s3.list_buckets()["Owner"]
    assert [o["Owner"] for o in s3.list_objects(Bucket=bucket)["Contents"]] == [owner]
