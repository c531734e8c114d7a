"""Bucket naming rules and the key length limit, as S3 enforces them."""

from __future__ import annotations

import pytest

from s3batch.errors import InvalidRequest
from s3batch.objectstore.errors import InvalidBucketName, KeyTooLongError
from s3batch.objectstore.naming import (
    MAX_KEY_BYTES,
    bucket_name_problem,
    check_bucket_name,
    check_key,
)


@pytest.mark.parametrize(
    "name",
    [
        "abc",
        "a" * 63,
        "my-bucket",
        "my.bucket.name",
        "1bucket9",
        "s3-eventbridge-batch",
        "a-b.c-d",
        "192.168.5",  # three octets is not an IP address
        "xn-bucket",
        "bucket-s3alias-x",
    ],
)
def test_valid_bucket_names(name: str) -> None:
    assert bucket_name_problem(name) is None
    check_bucket_name(name)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("ab", "between 3 and 63"),
        ("a" * 64, "between 3 and 63"),
        ("", "between 3 and 63"),
        ("My-Bucket", "lowercase"),
        ("my_bucket", "lowercase"),
        ("my bucket", "lowercase"),
        ("-bucket", "begin and end"),
        ("bucket-", "begin and end"),
        (".bucket", "begin and end"),
        ("bucket.", "begin and end"),
        ("my..bucket", "two adjacent periods"),
        ("192.168.5.4", "IP address"),
        ("10.0.0.1", "IP address"),
        ("xn--bucket", "xn--"),
        ("sthree-bucket", "sthree-"),
        ("amzn-s3-demo-bucket", "amzn-s3-demo-"),
        ("bucket-s3alias", "-s3alias"),
        ("bucket--ol-s3", "--ol-s3"),
        ("bucket.mrap", ".mrap"),
        ("bucket--x-s3", "--x-s3"),
        ("bucket--table-s3", "--table-s3"),
        ("café", "lowercase"),
    ],
)
def test_invalid_bucket_names_name_the_rule(name: str, fragment: str) -> None:
    problem = bucket_name_problem(name)
    assert problem is not None and fragment in problem
    with pytest.raises(InvalidBucketName) as info:
        check_bucket_name(name)
    assert info.value.code == "InvalidBucketName"
    assert fragment in info.value.message
    assert info.value.details == {"BucketName": name}
    assert isinstance(info.value, InvalidRequest)


@pytest.mark.parametrize(
    "key",
    [
        "k",
        "a" * MAX_KEY_BYTES,
        "é" * (MAX_KEY_BYTES // 2),  # two bytes each
        "😀" * (MAX_KEY_BYTES // 4),  # four bytes each
        "a//b/../c/./d+e%2B f",
    ],
)
def test_keys_up_to_1024_utf8_bytes_are_accepted(key: str) -> None:
    check_key(key)


@pytest.mark.parametrize(
    ("key", "size"),
    [
        ("a" * (MAX_KEY_BYTES + 1), 1025),
        ("é" * (MAX_KEY_BYTES // 2) + "a", 1025),
        ("é" * 513, 1026),  # 513 characters, well under 1024 characters
        ("😀" * 257, 1028),
    ],
)
def test_keys_over_1024_utf8_bytes_are_refused_with_their_size(key: str, size: int) -> None:
    with pytest.raises(KeyTooLongError) as info:
        check_key(key)
    assert info.value.code == "KeyTooLongError"
    assert info.value.details == {"Size": size, "MaxSizeAllowed": 1024}
