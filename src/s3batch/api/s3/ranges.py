"""HTTP Range and conditional headers for GetObject/HeadObject (pure)."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

from s3batch.objectstore.errors import InvalidRange, NotModified, PreconditionFailed
from s3batch.objectstore.models import ObjectMeta

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (start, end-exclusive) a Range header asks for; None means the whole object.

    A header S3 would ignore (malformed, several ranges) gives None.

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
    end = size if last == "" else min(int(last) + 1, size)
    if start >= size or (last != "" and int(last) < start):
        raise InvalidRange(ActualObjectSize=size, RangeRequested=header)
    return start, end


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
    not_modified = PreconditionFailed if prefix else NotModified
    if if_none is not None and _etag_matches(if_none, obj.etag):
        raise not_modified(Condition="If-None-Match")
    since = _when(headers.get(prefix + "if-modified-since", ""))
    if if_none is None and since is not None and modified <= since:
        raise not_modified(Condition="If-Modified-Since")
