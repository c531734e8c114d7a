"""Tags of rules and event buses (TagResource, UntagResource, ListTagsForResource, and the
``Tags`` of PutRule and CreateEventBus), checked as the EventBridge API documents them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from s3batch.errors import NotFound
from s3batch.events import store
from s3batch.events.errors import ValidationException
from s3batch.state.db import Database
from s3batch.types import Json

#: Most tags one resource may have, and the longest key and value (the API reference's limits).
MAX_TAGS, MAX_KEY, MAX_VALUE = 50, 128, 256


class TaggedResourceNotFound(NotFound):
    """The rule or event bus to tag does not exist."""


def tag_map(tags: Any) -> dict[str, str]:
    """The ``Tags`` of a request (``[{Key, Value}]``) as a dict.

    Raises:
        ValidationException: a tag is not a Key/Value pair within the limits.
    """
    if not isinstance(tags, list):
        raise ValidationException("Tags must be a list of {Key, Value} pairs.")
    out: dict[str, str] = {}
    for tag in tags:
        key = tag.get("Key") if isinstance(tag, Mapping) else None
        value = tag.get("Value") if isinstance(tag, Mapping) else None
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY:
            raise ValidationException(f"Tag keys must be 1 to {MAX_KEY} characters: {key!r}.")
        if key.startswith("aws:"):
            raise ValidationException(f"Tag key {key!r}: the aws: prefix is reserved.")
        if not isinstance(value, str) or len(value) > MAX_VALUE:
            raise ValidationException(
                f"The value of tag {key!r} must be a string of at most {MAX_VALUE} characters."
            )
        out[key] = value
    return out


def put_tags(conn: sqlite3.Connection, arn: str, tags: Mapping[str, str]) -> None:
    """Add tags to a resource in the caller's transaction, within MAX_TAGS.

    Raises:
        ValidationException: the resource would have more than MAX_TAGS tags.
    """
    if len(store.tags(conn, arn).keys() | tags.keys()) > MAX_TAGS:
        raise ValidationException(f"A resource can have at most {MAX_TAGS} tags.")
    store.put_tags(conn, arn, dict(tags))


class Tagging:
    """Tags by resource ARN; the resource must be an existing rule or bus."""

    def __init__(self, db: Database, default_bus_arn: str) -> None:
        self.db = db
        self.default_bus_arn = default_bus_arn

    def tag(self, arn: str, tags: Any) -> None:
        """TagResource: add or overwrite tags. Raises TaggedResourceNotFound, ValidationException."""
        wanted = tag_map(tags)
        with self.db.transaction() as conn:
            self._check(conn, arn)
            put_tags(conn, arn, wanted)

    def untag(self, arn: str, keys: Iterable[str]) -> None:
        """UntagResource: remove tags by key. Raises TaggedResourceNotFound."""
        with self.db.transaction() as conn:
            self._check(conn, arn)
            store.delete_tags(conn, arn, list(keys))

    def tags(self, arn: str) -> list[Json]:
        """ListTagsForResource: ``[{Key, Value}]`` by key. Raises TaggedResourceNotFound."""
        conn = self.db.conn
        self._check(conn, arn)
        return [{"Key": k, "Value": v} for k, v in store.tags(conn, arn).items()]

    def _check(self, conn: sqlite3.Connection, arn: str) -> None:
        if arn != self.default_bus_arn and not store.arn_exists(conn, arn):
            raise TaggedResourceNotFound(f"Resource {arn} does not exist.")
