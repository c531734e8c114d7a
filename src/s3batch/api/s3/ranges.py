"""HTTP Range and conditional headers for GetObject/HeadObject (pure)."""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime

from s3batch.errors import S3BatchError
from s3batch.objectstore.errors import (
    InvalidArgument,
    InvalidPartNumber,
    InvalidRange,
    NotModified,
    PreconditionFailed,
)
from s3batch.objectstore.models import ObjectMeta

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_COPY_RANGE = re.compile(r"^bytes=(\d+)-(\d+)$")
#: The most parts an object has.
MAX_PARTS = 10000


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (start, end-exclusive) a Range header asks for; None means the whole object.

    A header S3 would ignore (malformed, several ranges, a last byte before the first)
    gives None.

    Raises:
        InvalidRange: the range starts beyond the end of the object.
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":
        length = int(last)
        if length == 0:
            raise InvalidRange(ActualObjectSize=size, RangeRequested=header)
        return max(size - length, 0), size
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise InvalidRange(ActualObjectSize=size, RangeRequested=header)
    return start, size if last == "" else min(int(last) + 1, size)


def part_range(obj: ObjectMeta, number: str) -> tuple[tuple[int, int] | None, int]:
    """The (start, end-exclusive) of part ``number`` (GetObject/HeadObject ``partNumber``),
    and how many parts the object has: those it was uploaded in (its ETag says how many),
    or one. The one part of an object uploaded whole is the whole object (None).

    Raises:
        InvalidArgument: ``number`` is not from 1 to 10000.
        InvalidPartNumber: the object has fewer parts.
    """
    if not number.isdigit() or not 1 <= int(number) <= MAX_PARTS:
        raise InvalidArgument(
            f"Part number must be an integer between 1 and {MAX_PARTS}, inclusive",
            ArgumentName="partNumber",
            ArgumentValue=number,
        )
    _, _, suffix = obj.etag.strip('"').partition("-")
    sizes = [size for _, size in obj.segments]
    if not (suffix.isdigit() and int(suffix) == len(sizes) > 1):
        sizes = [obj.size]  # uploaded whole (or copied into one piece)
    index = int(number) - 1
    if index >= len(sizes):
        raise InvalidPartNumber(PartNumberRequested=number, ActualPartCount=len(sizes))
    if len(sizes) == 1:
        return None, 1
    start = sum(sizes[:index])
    return (start, start + sizes[index]), len(sizes)


def copy_range(header: str | None, size: int) -> tuple[int, int]:
    """The (start, end-exclusive) of ``x-amz-copy-source-range``; the whole source without one.

    Raises:
        InvalidArgument: the range is not ``bytes=first-last`` with first <= last.
        InvalidRange: it ends beyond the source.
    """
    if header is None:
        return 0, size
    match = _COPY_RANGE.match(header.strip())
    if not match or int(match.group(1)) > int(match.group(2)):
        raise InvalidArgument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first"
            " and last are the zero-based offsets of the first and last bytes to copy",
            ArgumentName="x-amz-copy-source-range",
            ArgumentValue=header,
        )
    first, last = int(match.group(1)), int(match.group(2))
    if last >= size:
        raise InvalidRange(ActualObjectSize=size, RangeRequested=header)
    return first, last + 1


def http_date(moment: datetime) -> str:
    """RFC 1123 date, as in Last-Modified."""
    return format_datetime(moment.replace(microsecond=0), usegmt=True)


def _etag_matches(header: str, etag: str) -> bool:
    wanted = [t.strip() for t in header.split(",")]
    return "*" in wanted or etag in wanted or etag.strip('"') in [t.strip('"') for t in wanted]


def _when(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def check_conditions(headers: dict[str, str], obj: ObjectMeta, prefix: str = "") -> None:
    """Apply If-Match / If-None-Match / If-(Un)Modified-Since as S3 does.

    ``prefix`` is ``x-amz-copy-source-`` for the copy-source variants.

    Raises:
        PreconditionFailed: If-Match or If-Unmodified-Since fails.
        NotModified: If-None-Match or If-Modified-Since fails (copies get PreconditionFailed).
    """
    modified = obj.last_modified.replace(microsecond=0).timestamp()
    if_match, if_none = headers.get(prefix + "if-match"), headers.get(prefix + "if-none-match")
    if if_match is not None and not _etag_matches(if_match, obj.etag):
        raise PreconditionFailed(Condition="If-Match")
    unmodified = _when(headers.get(prefix + "if-unmodified-since", ""))
    if if_match is None and unmodified is not None and modified > unmodified:
        raise PreconditionFailed(Condition="If-Unmodified-Since")
    if if_none is not None and _etag_matches(if_none, obj.etag):
        raise _not_modified(obj, "If-None-Match", prefix)
    since = _when(headers.get(prefix + "if-modified-since", ""))
    if if_none is None and since is not None and modified <= since:
        raise _not_modified(obj, "If-Modified-Since", prefix)


def _not_modified(obj: ObjectMeta, condition: str, prefix: str) -> S3BatchError:
    """A copy's PreconditionFailed; a read's NotModified, with the validators a 304 carries."""
    if prefix:
        return PreconditionFailed(Condition=condition)
    return NotModified(
        Condition=condition, ETag=obj.etag, LastModified=http_date(obj.last_modified)
    )
