"""Bucket listings: keys in UTF-8 binary order, delimiter roll-ups, opaque page tokens.

A page walks the key index from a cursor. When a key contains the delimiter after the
prefix, everything sharing that common prefix is skipped in one jump (to the smallest
string greater than every key with that prefix), so a folder of a million keys costs
one index seek, not a million rows.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3

from s3batch.objectstore import store
from s3batch.objectstore.errors import InvalidArgument
from s3batch.objectstore.models import Listing, ObjectMeta

#: The most keys one page returns, whatever the client asks for.
MAX_KEYS = 1000

Cursor = tuple[str, bool]  # (key, inclusive)


def successor(prefix: str) -> str | None:
    """The smallest string that sorts after every string starting with ``prefix``.

    None when there is none (``prefix`` is all U+10FFFF): nothing sorts after those keys.
    """
    while prefix:
        last = ord(prefix[-1]) + 1
        if last == 0xD800:
            last = 0xE000
        if last <= 0x10FFFF:
            return prefix[:-1] + chr(last)
        prefix = prefix[:-1]
    return None


def encode_token(cursor: Cursor) -> str:
    """An opaque continuation token for a cursor."""
    return base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode()


def decode_token(token: str) -> Cursor:
    """The cursor inside a continuation token. Raises InvalidArgument."""
    try:
        key, inclusive = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidArgument(
            "The continuation token provided is incorrect", ArgumentName="continuation-token"
        ) from exc
    return str(key), bool(inclusive)


def _rolls_up(key: str, prefix: str, delimiter: str) -> bool:
    """Whether ``key`` is itself a common prefix of this listing (a v1 NextMarker can be one)."""
    return (
        bool(delimiter)
        and key.endswith(delimiter)
        and key.find(delimiter, len(prefix)) == len(key) - len(delimiter)
    )


def _start(prefix: str, delimiter: str, after: str | None, token: str | None) -> Cursor:
    if token:
        return decode_token(token)
    if after and after >= prefix:
        beyond = successor(after) if _rolls_up(after, prefix, delimiter) else None
        return (beyond, True) if beyond is not None else (after, False)
    return prefix, True


class _Page:
    def __init__(self, max_keys: int) -> None:
        self.max_keys = max_keys
        self.contents: list[ObjectMeta] = []
        self.prefixes: list[str] = []
        self.next: Cursor | None = None
        self.truncated = False

    @property
    def full(self) -> bool:
        return len(self.contents) + len(self.prefixes) >= self.max_keys

    def add(self, item: ObjectMeta | str, resume: Cursor | None) -> bool:
        """Add an item unless the page is full (then mark it truncated)."""
        if self.full:
            self.truncated = True
            return False
        if isinstance(item, str):
            self.prefixes.append(item)
        else:
            self.contents.append(item)
        self.next = resume
        return True


def list_page(
    conn: sqlite3.Connection,
    bucket: str,
    prefix: str,
    delimiter: str,
    max_keys: int,
    after: str | None = None,
    token: str | None = None,
) -> Listing:
    """One page of a listing (``max_keys`` 0: an empty page, not truncated, as S3 answers)."""
    if max_keys <= 0:
        return Listing([], [], False, None)
    page = _Page(min(max_keys, MAX_KEYS))
    cursor = _start(prefix, delimiter, after, token)
    batch = page.max_keys + 1
    while not page.truncated:
        rows = store.objects_from(conn, bucket, cursor[0], cursor[1], batch)
        cursor = _walk(rows, page, prefix, delimiter)
        if not rows or cursor is None:
            break
    next_token = encode_token(page.next) if page.truncated and page.next else None
    return Listing(page.contents, page.prefixes, page.truncated, next_token)


def _walk(rows: list[ObjectMeta], page: _Page, prefix: str, delimiter: str) -> Cursor | None:
    """Feed rows to the page; return where to read next, or None when the listing ends."""
    for obj in rows:
        if not obj.key.startswith(prefix):
            return None
        cut = obj.key.find(delimiter, len(prefix)) if delimiter else -1
        if cut >= 0:
            common = obj.key[: cut + len(delimiter)]
            beyond = successor(common)
            jump = (beyond, True) if beyond is not None else None
            return jump if page.add(common, jump) else None
        if not page.add(obj, (obj.key, False)):
            return None
    return (rows[-1].key, False) if rows else None
