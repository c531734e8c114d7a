"""CloudWatch Logs operations over the state store.

:meth:`Logs.append` is the batch supervisor's log sink: it creates the group and stream
when missing and keeps events in the order they were appended. :meth:`Logs.get_log_events`
pages as GetLogEvents does: up to ``limit`` events and 1 MB, with ``f/…`` and ``b/…``
tokens that come back unchanged at the end of the stream (that is how clients stop).
Describe* and :meth:`Logs.filter_log_events` page with opaque tokens holding the last sort
key served (see :mod:`.tokens`); filter patterns are compiled once per call (:mod:`.filters`).
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from typing import TypeVar

from s3batch.clock import Clock
from s3batch.logs import store
from s3batch.logs.errors import (
    InvalidParameterException,
    LogGroupNotFound,
    LogStreamNotFound,
    ResourceAlreadyExistsException,
)
from s3batch.logs.filters import compile_pattern
from s3batch.logs.models import EventPage, FoundEvent, FoundPage, LogEvent, LogGroup, LogStream
from s3batch.logs.tokens import Key, key_token, parse_key_token, parse_stream_token, stream_token
from s3batch.state.db import Database

logger = logging.getLogger(__name__)

#: GetLogEvents returns at most this many events, and at most MAX_PAGE_BYTES.
MAX_EVENTS = 10_000
MAX_PAGE_BYTES = 1_048_576
#: DescribeLogGroups / DescribeLogStreams page size: default and largest.
MAX_DESCRIBE = 50
#: PutLogEvents takes at most this many events per call.
MAX_PUT = 10_000
#: PutLogEvents: bytes an event counts besides its message; the most a batch (and so an
#: event) may count; the longest time a batch may span.
EVENT_OVERHEAD, MAX_BATCH_BYTES, MAX_SPAN_MS = 26, 1_048_576, 24 * 3600 * 1000
#: PutLogEvents stores no event older than this, or further ahead than that (ms).
TOO_OLD_MS, TOO_NEW_MS = 14 * 24 * 3600 * 1000, 2 * 3600 * 1000
#: FilterLogEvents reads candidate events in chunks of this many.
SCAN_CHUNK = 1000
GROUP_NAME = re.compile(r"[.\-_/#A-Za-z0-9]{1,512}")
STREAM_NAME = re.compile(r"[^:*]{1,512}")
T = TypeVar("T")


class Logs:
    """Log groups, streams and events."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        region: str = "us-east-1",
        account_id: str = "000000000000",
    ) -> None:
        self.db = db
        self.clock = clock
        self.region = region
        self.account_id = account_id

    def _now(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def _group_arn(self, name: str) -> str:
        return f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{name}:*"

    # -- groups and streams --------------------------------------------------------

    def create_log_group(self, name: str) -> LogGroup:
        """CreateLogGroup.

        Raises:
            InvalidParameterException: the name is not valid.
            ResourceAlreadyExistsException: it exists.
        """
        _check(GROUP_NAME, name, "logGroupName")
        with self.db.transaction() as conn:
            if not store.insert_group(conn, name, self._group_arn(name), self._now()):
                raise ResourceAlreadyExistsException("The specified log group already exists")
        return self.log_group(name)

    def ensure_log_group(self, name: str) -> LogGroup:
        """The group, created if missing."""
        _check(GROUP_NAME, name, "logGroupName")
        with self.db.transaction() as conn:
            store.insert_group(conn, name, self._group_arn(name), self._now())
        return self.log_group(name)

    def log_group(self, name: str) -> LogGroup:
        """A group by name.

        Raises:
            LogGroupNotFound: there is none.
        """
        group = store.get_group(self.db.conn, name)
        if group is None:
            raise LogGroupNotFound()
        return group

    def groups(self, prefix: str = "") -> list[LogGroup]:
        """Groups by name, optionally those starting with ``prefix``."""
        return store.list_groups(self.db.conn, prefix)

    def create_log_stream(self, group: str, name: str) -> LogStream:
        """CreateLogStream.

        Raises:
            InvalidParameterException: the name is not valid.
            LogGroupNotFound: the group does not exist.
            ResourceAlreadyExistsException: the stream exists.
        """
        _check(STREAM_NAME, name, "logStreamName")
        with self.db.transaction() as conn:
            if store.get_group(conn, group) is None:
                raise LogGroupNotFound()
            if not store.insert_stream(conn, group, name, self._now()):
                raise ResourceAlreadyExistsException("The specified log stream already exists")
        return self.log_stream(group, name)

    def ensure_log_stream(self, group: str, name: str) -> LogStream:
        """The stream, created (with its group) if missing."""
        _check(STREAM_NAME, name, "logStreamName")
        with self.db.transaction() as conn:
            self._ensure(conn, group, name)
        return self.log_stream(group, name)

    def _ensure(self, conn: sqlite3.Connection, group: str, name: str) -> None:
        now = self._now()
        store.insert_group(conn, group, self._group_arn(group), now)
        store.insert_stream(conn, group, name, now)

    def log_stream(self, group: str, name: str) -> LogStream:
        """A stream by group and name.

        Raises:
            LogStreamNotFound: there is none.
        """
        stream = store.get_stream(self.db.conn, group, name)
        if stream is None:
            raise LogStreamNotFound()
        return stream

    def streams(self, group: str, prefix: str = "") -> list[LogStream]:
        """Streams of a group by name.

        Raises:
            LogGroupNotFound: the group does not exist.
        """
        self.log_group(group)
        return store.list_streams(self.db.conn, group, prefix)

    # -- events --------------------------------------------------------------------

    def append(self, group: str, stream: str, events: Sequence[tuple[int, str]]) -> None:
        """Add ``(timestamp ms, message)`` events in order, creating group and stream if needed."""
        with self.db.transaction() as conn:
            if not events:  # only the stream is wanted (a job's, as it starts): two inserts
                self._ensure(conn, group, stream)
                return
            row = store.stream_row(conn, group, stream)
            if row is None:
                self._ensure(conn, group, stream)
                row = store.stream_row(conn, group, stream)
                assert row is not None
            store.add_events(conn, row, events, self._now())

    def get_log_events(
        self,
        group: str,
        stream: str,
        start_from_head: bool = True,
        limit: int = MAX_EVENTS,
        next_token: str | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
    ) -> EventPage:
        """GetLogEvents: a page of events oldest first, and the tokens to page forward and backward.

        Without a token the page is the stream's first (``start_from_head``) or last one.

        Raises:
            LogStreamNotFound: the stream (or its group) does not exist.
            InvalidParameterException: the limit or the token is not valid.
        """
        _check_limit(limit, MAX_EVENTS)
        row = store.stream_row(self.db.conn, group, stream)
        if row is None:
            raise LogStreamNotFound()
        direction, position = parse_stream_token(next_token, start_from_head, row["next_seq"])
        conn, stream_id = self.db.conn, row["id"]
        if direction == "f":
            events = _fit(
                store.events_from(
                    conn, stream_id, position, limit, (start_time, end_time), forward=True
                )
            )
            if not events:
                return EventPage([], stream_token("f", position), stream_token("b", position + 1))
        else:
            newest_first = _fit(
                store.events_from(
                    conn, stream_id, position, limit, (start_time, end_time), forward=False
                )
            )
            events = newest_first[::-1]
            if not events:
                return EventPage([], stream_token("f", position - 1), stream_token("b", position))
        return EventPage(
            events, stream_token("f", events[-1].seq), stream_token("b", events[0].seq)
        )

    def put_log_events(
        self, group: str, stream: str, events: Sequence[tuple[int, str]]
    ) -> dict[str, int]:
        """PutLogEvents: append events to an existing stream; AWS's ``rejectedLogEventsInfo``.

        Events more than :data:`TOO_OLD_MS` old or :data:`TOO_NEW_MS` ahead are not stored
        (the others are); the indexes of those rejected are returned, as AWS reports them.

        Raises:
            InvalidParameterException: no events, too many, not in chronological order, an
                empty message, an event or batch over 1 MB, or a batch spanning over 24 hours.
            LogStreamNotFound: the stream (or its group) does not exist.
        """
        if not 1 <= len(events) <= MAX_PUT:
            raise InvalidParameterException(f"logEvents must hold between 1 and {MAX_PUT} events")
        if any(a[0] > b[0] for a, b in zip(events, events[1:], strict=False)):
            raise InvalidParameterException(
                "Log events in a single PutLogEvents request must be in chronological order."
            )
        _check_batch(events)
        now = self._now()
        old = sum(1 for ts, _ in events if ts < now - TOO_OLD_MS)
        new = sum(1 for ts, _ in events if ts > now + TOO_NEW_MS)
        with self.db.transaction() as conn:
            row = store.stream_row(conn, group, stream)
            if row is None:
                raise LogStreamNotFound()
            if old + new < len(events):
                store.add_events(conn, row, events[old : len(events) - new], now)
        rejected = {"tooOldLogEventEndIndex": old} if old else {}  # AWS: exclusive
        return rejected | ({"tooNewLogEventStartIndex": len(events) - new} if new else {})

    # -- listings --------------------------------------------------------------------

    def describe_log_groups(
        self, prefix: str = "", limit: int = MAX_DESCRIBE, next_token: str | None = None
    ) -> tuple[list[LogGroup], str | None]:
        """DescribeLogGroups: a page of groups by name, and the token for the next one.

        Raises:
            InvalidParameterException: the limit or the token is not valid.
        """
        _check_limit(limit, MAX_DESCRIBE)
        after = parse_key_token(next_token, (str,))
        return _page(self.groups(prefix), lambda g: (g.name,), limit, after, False)

    def describe_log_streams(
        self,
        group: str,
        prefix: str = "",
        order_by: str = "LogStreamName",
        descending: bool = False,
        limit: int = MAX_DESCRIBE,
        next_token: str | None = None,
    ) -> tuple[list[LogStream], str | None]:
        """DescribeLogStreams: a page of a group's streams by name or by last event time.

        Raises:
            InvalidParameterException: bad limit, token or order, or a prefix with LastEventTime.
            LogGroupNotFound: the group does not exist.
        """
        _check_limit(limit, MAX_DESCRIBE)
        if order_by not in ("LogStreamName", "LastEventTime"):
            raise InvalidParameterException("orderBy must be LogStreamName or LastEventTime")
        if order_by == "LastEventTime" and prefix:
            raise InvalidParameterException(
                "Cannot order by LastEventTime with a logStreamNamePrefix."
            )
        if order_by == "LogStreamName":
            after = parse_key_token(next_token, (str,))
            key: Callable[[LogStream], Key] = lambda s: (s.name,)  # noqa: E731
        else:
            after = parse_key_token(next_token, (int, str))
            key = lambda s: (s.last_event_timestamp or 0, s.name)  # noqa: E731
        return _page(self.streams(group, prefix), key, limit, after, descending)

    def filter_log_events(
        self,
        group: str,
        stream_names: Sequence[str] | None = None,
        stream_prefix: str = "",
        start_time: int | None = None,
        end_time: int | None = None,
        pattern: str | None = None,
        limit: int = MAX_EVENTS,
        next_token: str | None = None,
    ) -> FoundPage:
        """FilterLogEvents: matching events of a group's streams by time, in pages.

        Raises:
            InvalidParameterException: bad limit, token or pattern, or both stream names and prefix.
            LogGroupNotFound: the group does not exist.
        """
        _check_limit(limit, MAX_EVENTS)
        if stream_names and stream_prefix:
            raise InvalidParameterException(
                "logStreamNames and logStreamNamePrefix are mutually exclusive"
            )
        matcher = compile_pattern(pattern)
        after = parse_key_token(next_token, (int, int, int))
        self.log_group(group)
        found: list[FoundEvent] = []
        window = (start_time, end_time)
        scan = store.scan_events(
            self.db.conn, group, stream_names, stream_prefix, window, after, SCAN_CHUNK
        )
        with closing(scan):
            for item in scan:
                if not matcher.matches(item.event.message):
                    continue
                if len(found) == limit:
                    return FoundPage(found, key_token(_found_key(found[-1])))
                found.append(item)
        return FoundPage(found, None)


def _check(pattern: re.Pattern[str], value: str, field: str) -> None:
    if not pattern.fullmatch(value):
        raise InvalidParameterException(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint"
        )


def _fit(events: list[LogEvent]) -> list[LogEvent]:
    """The leading events that fit in one page's byte budget."""
    total = 0
    for index, event in enumerate(events):
        total += len(event.message.encode()) + store.EVENT_OVERHEAD
        if total > MAX_PAGE_BYTES:
            return events[:index]
    return events


def _check_limit(limit: int, most: int) -> None:
    if not 1 <= limit <= most:
        raise InvalidParameterException(f"limit must be between 1 and {most}")


def _found_key(item: FoundEvent) -> Key:
    return (item.event.timestamp, item.stream_id, item.event.seq)


def _page(
    items: list[T], key: Callable[[T], Key], limit: int, after: Key | None, descending: bool
) -> tuple[list[T], str | None]:
    """A page of ``items`` sorted by ``key``, starting after the key ``after``; and the next token."""
    ordered = sorted(items, key=key, reverse=descending)
    if after is not None:
        ordered = [i for i in ordered if (key(i) < after if descending else key(i) > after)]
    page = ordered[:limit]
    return page, key_token(key(page[-1])) if len(ordered) > limit else None


def _check_batch(events: Sequence[tuple[int, str]]) -> None:
    """PutLogEvents' limits on messages and on the batch (events in chronological order).

    Raises:
        InvalidParameterException: one is exceeded.
    """
    if any(not message for _, message in events):
        raise InvalidParameterException("Log event messages must be at least 1 character long.")
    sizes = [len(message.encode()) + EVENT_OVERHEAD for _, message in events]
    if max(sizes) > MAX_BATCH_BYTES:
        raise InvalidParameterException(
            f"Log event too large: an event may count at most {MAX_BATCH_BYTES} bytes"
            f" (its message's UTF-8 bytes plus {EVENT_OVERHEAD})."
        )
    if sum(sizes) > MAX_BATCH_BYTES:
        raise InvalidParameterException(
            f"Upload too large: a batch may count at most {MAX_BATCH_BYTES} bytes"
            f" (each message's UTF-8 bytes plus {EVENT_OVERHEAD})."
        )
    if events[-1][0] - events[0][0] > MAX_SPAN_MS:
        raise InvalidParameterException(
            "The batch of log events in a single PutLogEvents request cannot span more than"
            " 24 hours."
        )
