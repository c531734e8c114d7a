"""Paging tokens of the Logs API (pure).

GetLogEvents tokens are ``f/<seq>`` (after event ``seq``) and ``b/<seq>`` (before it), as
AWS's look. Describe* and FilterLogEvents tokens are opaque: the sort key of the last item
returned, so a page picks up after it even when items are added meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from s3batch.logs.errors import InvalidParameterException
from s3batch.types import LONGS

_STREAM_TOKEN = re.compile(r"([fb])/(\d{1,60})")
#: A sort key: the values an item is ordered by (strings and integers).
Key = tuple[str | int, ...]


def stream_token(direction: str, seq: int) -> str:
    """A GetLogEvents token: ``f/…`` to page forward, ``b/…`` to page backward."""
    return f"{direction}/{max(seq, 0):056d}"


def parse_stream_token(token: str | None, start_from_head: bool, end: int) -> tuple[str, int]:
    """A GetLogEvents token as (direction, position); no token means the head or the tail."""
    if token is None:
        return ("f", 0) if start_from_head else ("b", end)
    match = _STREAM_TOKEN.fullmatch(token)
    if match is None or int(match[2]) not in LONGS:
        raise InvalidParameterException("The specified nextToken is invalid.")
    return match[1], int(match[2])


def key_token(key: Key) -> str:
    """An opaque token for the item with this sort key."""
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def parse_key_token(token: str | None, kinds: tuple[type, ...]) -> Key | None:
    """The sort key a :func:`key_token` holds (None without a token).

    Raises:
        InvalidParameterException: the token is not one of ours, or of another listing.
    """
    if token is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidParameterException("The specified nextToken is invalid.") from exc
    if not isinstance(key, list) or len(key) != len(kinds) or not all(map(_is, key, kinds)):
        raise InvalidParameterException("The specified nextToken is invalid.")
    return tuple(key)


def _is(value: object, kind: type) -> bool:
    if isinstance(value, int) and value not in LONGS:  # positions and times: SQLite integers
        return False
    return isinstance(value, kind) and not isinstance(value, bool)
