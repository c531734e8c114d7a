"""Which handler an S3 request reaches, how its path becomes bucket and key, Range and conditions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest

from s3batch.api.s3 import buckets, objects, uploads
from s3batch.api.s3.call import DEFAULT_CONTENT_TYPE, attributes_from, split_path, stored_headers
from s3batch.api.s3.errors import InvalidURI, MethodNotAllowed, NotImplementedYet, status_of
from s3batch.api.s3.ranges import byte_range, check_conditions
from s3batch.api.s3.routes import operation
from s3batch.objectstore.errors import InvalidRange, NotModified, PreconditionFailed
from s3batch.objectstore.models import Attributes, ObjectMeta

COPY = {"x-amz-copy-source": "/src/key"}


def same_handler(actual: Callable[..., Any], expected: Callable[..., Any]) -> bool:
    if isinstance(expected, partial):
        return isinstance(actual, partial) and (actual.func, actual.keywords) == (
            expected.func,
            expected.keywords,
        )
    return actual is expected


# -- operation() ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "bucket", "key", "query", "headers", "expected"),
    [
        ("GET", "", "", {}, {}, buckets.list_buckets),
        ("PUT", "b", "", {}, {}, buckets.create_bucket),
        ("HEAD", "b", "", {}, {}, buckets.head_bucket),
        ("DELETE", "b", "", {}, {}, buckets.delete_bucket),
        ("GET", "b", "", {}, {}, partial(buckets.list_objects, v2=False)),
        (
            "GET",
            "b",
            "",
            {"prefix": "a/", "marker": "x"},
            {},
            partial(buckets.list_objects, v2=False),
        ),
        ("GET", "b", "", {"list-type": "1"}, {}, partial(buckets.list_objects, v2=False)),
        (
            "GET",
            "b",
            "",
            {"list-type": "2", "prefix": "a"},
            {},
            partial(buckets.list_objects, v2=True),
        ),
        ("GET", "b", "", {"uploads": ""}, {}, buckets.list_multipart_uploads),
        ("GET", "b", "", {"location": ""}, {}, buckets.get_bucket_location),
        ("POST", "b", "", {"delete": ""}, {}, objects.delete_objects),
        ("PUT", "b", "k", {}, {}, objects.put_object),
        ("PUT", "b", "k", {}, COPY, objects.copy_object),
        ("PUT", "b", "k", {"uploadId": "u", "partNumber": "1"}, {}, uploads.upload_part),
        ("PUT", "b", "k", {"uploadId": "u", "partNumber": "1"}, COPY, uploads.upload_part_copy),
        ("GET", "b", "k", {}, {}, objects.get_object),
        ("GET", "b", "k", {"partNumber": "1"}, {}, objects.get_object),
        ("HEAD", "b", "k", {}, {}, partial(objects.get_object, head=True)),
        ("DELETE", "b", "k", {}, {}, objects.delete_object),
        ("POST", "b", "k", {"uploads": ""}, {}, uploads.create_multipart_upload),
        ("POST", "b", "k", {"uploadId": "u"}, {}, uploads.complete_multipart_upload),
        ("GET", "b", "k", {"uploadId": "u"}, {}, uploads.list_parts),
        ("DELETE", "b", "k", {"uploadId": "u"}, {}, uploads.abort_multipart_upload),
        ("GET", "b", "a//b/../c", {}, {}, objects.get_object),
    ],
)
def test_operation_picks_the_handler(
    method: str,
    bucket: str,
    key: str,
    query: dict[str, str],
    headers: dict[str, str],
    expected: Callable[..., Any],
) -> None:
    assert same_handler(operation(method, bucket, key, query, headers), expected)


def test_put_object_and_copy_object_differ_only_by_the_copy_source_header() -> None:
    assert operation("PUT", "b", "k", {}, {"x-amz-copy-source-if-match": "x"}) is objects.put_object
    assert operation("PUT", "b", "k", {}, {"x-amz-copy-source": "b/k"}) is objects.copy_object


@pytest.mark.parametrize(
    ("method", "bucket", "key", "query", "resource"),
    [
        ("PUT", "", "", {}, "SERVICE"),
        ("POST", "", "", {}, "SERVICE"),
        ("POST", "b", "", {}, "BUCKET"),
        ("PATCH", "b", "", {}, "BUCKET"),
        ("PATCH", "b", "k", {}, "OBJECT"),
        ("POST", "b", "k", {}, "OBJECT"),
        ("HEAD", "b", "k", {"uploadId": "u"}, "OBJECT"),
        ("OPTIONS", "b", "k", {}, "OBJECT"),
    ],
)
def test_unknown_method_is_method_not_allowed(
    method: str, bucket: str, key: str, query: dict[str, str], resource: str
) -> None:
    with pytest.raises(MethodNotAllowed) as info:
        operation(method, bucket, key, query, {})
    assert info.value.details == {"Method": method, "ResourceType": resource}
    assert info.value.code == "MethodNotAllowed" and status_of(info.value) == 405


@pytest.mark.parametrize(
    ("method", "bucket", "key", "query"),
    [
        ("GET", "b", "", {"acl": ""}),
        ("PUT", "b", "", {"acl": ""}),
        ("GET", "b", "k", {"acl": ""}),
        ("PUT", "b", "k", {"tagging": ""}),
        ("GET", "b", "", {"versioning": ""}),
        ("GET", "b", "", {"versions": ""}),
        ("PUT", "b", "", {"lifecycle": ""}),
        ("GET", "b", "", {"policy": ""}),
        ("GET", "", "", {"acl": ""}),
        ("GET", "b", "k", {"attributes": ""}),
    ],
)
def test_unsupported_sub_resources_are_not_implemented(
    method: str, bucket: str, key: str, query: dict[str, str]
) -> None:
    with pytest.raises(NotImplementedYet) as info:
        operation(method, bucket, key, query, {})
    sub = next(iter(query))
    assert f"?{sub}" in info.value.message
    assert info.value.code == "NotImplemented" and status_of(info.value) == 501


# -- split_path() ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "bucket", "key"),
    [
        ("/", "", ""),
        ("", "", ""),
        ("/bkt", "bkt", ""),
        ("/bkt/", "bkt", ""),
        ("/bkt/key", "bkt", "key"),
        ("/bkt/dir/sub/file.txt", "bkt", "dir/sub/file.txt"),
        ("/bkt//", "bkt", "/"),
        ("/bkt/a//b", "bkt", "a//b"),
        ("/bkt//lead", "bkt", "/lead"),
        ("/bkt/../x", "bkt", "../x"),
        ("/bkt/a/../../b", "bkt", "a/../../b"),
        ("/bkt/./x", "bkt", "./x"),
        ("/bkt/a+b", "bkt", "a+b"),  # '+' in a path is a plus, not a space
        ("/bkt/a%2Bb", "bkt", "a+b"),
        ("/bkt/a%2bb", "bkt", "a+b"),
        ("/bkt/a%20b", "bkt", "a b"),
        ("/bkt/a%2Fb", "bkt", "a/b"),
        ("/bkt/100%25", "bkt", "100%"),
        ("/bkt/%2525", "bkt", "%25"),  # decoded exactly once
        ("/bkt/%252B", "bkt", "%2B"),
        ("/bkt/caf%C3%A9/%F0%9F%98%80", "bkt", "café/😀"),
        ("/bkt/%2e%2e/x", "bkt", "../x"),
    ],
)
def test_split_path_decodes_the_key_once_and_keeps_it_verbatim(
    raw: str, bucket: str, key: str
) -> None:
    assert split_path(raw) == (bucket, key)


@pytest.mark.parametrize("raw", ["/bkt/%FF", "/bkt/%C3", "/bkt/ok%C3%28", "/b%FFt/k"])
def test_split_path_refuses_percent_escapes_that_are_not_utf8(raw: str) -> None:
    with pytest.raises(InvalidURI) as info:
        split_path(raw)
    assert info.value.code == "InvalidURI" and status_of(info.value) == 400


# -- attributes_from() ------------------------------------------------------------------------------------


def test_attributes_from_headers() -> None:
    attrs = attributes_from(
        {
            "content-type": "text/csv",
            "content-encoding": "gzip",
            "x-amz-meta-owner": "me",
            "x-amz-meta-a-b": "1",
            "x-amz-acl": "private",
        }
    )
    assert attrs == Attributes("text/csv", "gzip", {"owner": "me", "a-b": "1"})


def test_attributes_from_the_standard_object_headers() -> None:
    attrs = attributes_from(
        {
            "cache-control": "max-age=60",
            "content-disposition": "inline",
            "content-language": "en",
            "expires": "Thu, 01 Jan 2037 00:00:00 GMT",
        }
    )
    assert attrs == Attributes(
        DEFAULT_CONTENT_TYPE,
        None,
        {},
        cache_control="max-age=60",
        content_disposition="inline",
        content_language="en",
        expires="Thu, 01 Jan 2037 00:00:00 GMT",
    )
    assert stored_headers(attrs) == [
        ("content-type", DEFAULT_CONTENT_TYPE),
        ("cache-control", "max-age=60"),
        ("content-disposition", "inline"),
        ("content-language", "en"),
        ("expires", "Thu, 01 Jan 2037 00:00:00 GMT"),
    ]


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("aws-chunked", None),
        ("aws-chunked,gzip", "gzip"),
        ("gzip, aws-chunked", "gzip"),
        ("gzip,br", "gzip,br"),
        ("", None),
    ],
)
def test_aws_chunked_is_not_stored_as_a_content_encoding(
    encoding: str, expected: str | None
) -> None:
    assert attributes_from({"content-encoding": encoding}).content_encoding == expected


def test_missing_content_type_gets_the_s3_default() -> None:
    assert attributes_from({}).content_type == DEFAULT_CONTENT_TYPE == "binary/octet-stream"
    assert attributes_from({"content-type": ""}).content_type == DEFAULT_CONTENT_TYPE


# -- byte_range() ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-4", 10, (0, 5)),
        ("bytes=0-0", 10, (0, 1)),
        ("bytes=3-3", 10, (3, 4)),
        ("bytes=9-9", 10, (9, 10)),
        ("bytes=2-100", 10, (2, 10)),  # an end beyond the object is clipped
        ("bytes=5-", 10, (5, 10)),
        ("bytes=0-", 10, (0, 10)),
        ("bytes=-3", 10, (7, 10)),
        ("bytes=-10", 10, (0, 10)),
        ("bytes=-20", 10, (0, 10)),  # a suffix longer than the object is the whole object
        (" bytes=1-2 ", 10, (1, 3)),
    ],
)
def test_byte_range(header: str, size: int, expected: tuple[int, int]) -> None:
    assert byte_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=10-", 10),
        ("bytes=10-20", 10),
        ("bytes=11-12", 10),
        ("bytes=0-", 0),
        ("bytes=0-0", 0),
        ("bytes=-0", 10),
    ],
)
def test_unsatisfiable_ranges_are_invalid_range(header: str, size: int) -> None:
    with pytest.raises(InvalidRange) as info:
        byte_range(header, size)
    assert info.value.details == {"ActualObjectSize": size, "RangeRequested": header}
    assert status_of(info.value) == 416


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "bytes=",
        "bytes=-",
        "bytes=a-b",
        "bytes=1-2,4-5",
        "items=0-1",
        "bytes 0-1",
        "bytes=0x1-2",
        "bytes=-1-2",
        "bytes=+1-2",
    ],
)
def test_malformed_or_multiple_ranges_mean_the_whole_object(header: str | None) -> None:
    assert byte_range(header, 10) is None


# -- check_conditions() ---------------------------------------------------------------------------------------

ETAG = '"9b2cf535f27731c974343645a3985328"'
MODIFIED = datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)  # sub-second part is not on the wire
BEFORE = "Wed, 01 May 2024 11:59:59 GMT"
AT = "Wed, 01 May 2024 12:00:00 GMT"
AFTER = "Wed, 01 May 2024 12:00:01 GMT"
OBJ = ObjectMeta("b", "k", 3, ETAG, MODIFIED, Attributes())


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"if-match": ETAG},
        {"if-match": ETAG.strip('"')},
        {"if-match": '"other", ' + ETAG},
        {"if-match": "*"},
        {"if-none-match": '"other"'},
        {"if-modified-since": BEFORE},
        {"if-unmodified-since": AT},
        {"if-unmodified-since": AFTER},
        {
            "if-match": ETAG,
            "if-unmodified-since": BEFORE,
        },  # If-Match true wins over If-Unmodified-Since
        {"if-none-match": '"other"', "if-modified-since": AFTER},  # If-None-Match false wins
        {"if-modified-since": "not a date"},
        {"if-unmodified-since": "not a date"},
    ],
)
def test_conditions_that_hold(headers: dict[str, str]) -> None:
    check_conditions(headers, OBJ)


@pytest.mark.parametrize(
    ("headers", "error", "condition"),
    [
        ({"if-match": '"other"'}, PreconditionFailed, "If-Match"),
        ({"if-match": '"other"', "if-unmodified-since": AFTER}, PreconditionFailed, "If-Match"),
        ({"if-unmodified-since": BEFORE}, PreconditionFailed, "If-Unmodified-Since"),
        ({"if-none-match": ETAG}, NotModified, "If-None-Match"),
        ({"if-none-match": "*"}, NotModified, "If-None-Match"),
        ({"if-none-match": ETAG, "if-modified-since": BEFORE}, NotModified, "If-None-Match"),
        ({"if-modified-since": AT}, NotModified, "If-Modified-Since"),
        ({"if-modified-since": AFTER}, NotModified, "If-Modified-Since"),
    ],
)
def test_conditions_that_fail(
    headers: dict[str, str], error: type[Exception], condition: str
) -> None:
    with pytest.raises(error) as info:
        check_conditions(headers, OBJ)
    assert type(info.value) is error
    assert info.value.details["Condition"] == condition  # type: ignore[attr-defined]
    if error is NotModified:  # a 304 carries the validators a 200 would
        assert info.value.details["ETag"] == OBJ.etag  # type: ignore[attr-defined]


def test_failed_conditions_map_to_304_and_412() -> None:
    assert status_of(NotModified()) == 304
    assert status_of(PreconditionFailed()) == 412


@pytest.mark.parametrize(
    ("headers", "condition"),
    [
        ({"x-amz-copy-source-if-none-match": ETAG}, "If-None-Match"),
        ({"x-amz-copy-source-if-modified-since": AFTER}, "If-Modified-Since"),
        ({"x-amz-copy-source-if-match": '"other"'}, "If-Match"),
        ({"x-amz-copy-source-if-unmodified-since": BEFORE}, "If-Unmodified-Since"),
    ],
)
def test_copy_source_conditions_fail_with_precondition_failed(
    headers: dict[str, str], condition: str
) -> None:
    with pytest.raises(PreconditionFailed) as info:
        check_conditions(headers, OBJ, prefix="x-amz-copy-source-")
    assert info.value.details == {"Condition": condition}


def test_copy_source_checks_ignore_the_plain_conditional_headers() -> None:
    check_conditions(
        {"if-match": '"other"', "if-none-match": ETAG}, OBJ, prefix="x-amz-copy-source-"
    )
    check_conditions({"x-amz-copy-source-if-match": ETAG}, OBJ, prefix="x-amz-copy-source-")
