"""Bucket naming rules and key limits, as S3 enforces them for general purpose buckets."""

from __future__ import annotations

import ipaddress
import re

from s3batch.objectstore.errors import InvalidBucketName, KeyTooLongError

#: Longest key S3 accepts, in bytes of UTF-8.
MAX_KEY_BYTES = 1024

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid bucket name, or None when it is."""
    if not 3 <= len(name) <= 63:
        return "must be between 3 and 63 characters long"
    if not _BUCKET_RE.match(name):
        return "may contain only lowercase letters, digits, '.' and '-', and must begin and end with a letter or digit"
    if ".." in name:
        return "must not contain two adjacent periods"
    if _is_ip(name):
        return "must not be formatted as an IP address"
    if name.startswith(_RESERVED_PREFIXES):
        return f"must not start with any of {', '.join(_RESERVED_PREFIXES)}"
    if name.endswith(_RESERVED_SUFFIXES):
        return f"must not end with any of {', '.join(_RESERVED_SUFFIXES)}"
    return None


def check_bucket_name(name: str) -> None:
    """Raise :class:`InvalidBucketName` naming the rule that ``name`` breaks."""
    problem = bucket_name_problem(name)
    if problem:
        raise InvalidBucketName(
            f"The specified bucket is not valid: bucket name {problem}.", BucketName=name
        )


def check_key(key: str) -> None:
    """Raise :class:`KeyTooLongError` for keys over 1024 bytes of UTF-8."""
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise KeyTooLongError(Size=size, MaxSizeAllowed=MAX_KEY_BYTES)
