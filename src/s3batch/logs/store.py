"""SQL for log groups, streams and events: the only place that knows the tables."""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Sequence

from s3batch.logs.models import FoundEvent, LogEvent, LogGroup, LogStream
from s3batch.state.db import Row

#: CloudWatch counts 26 bytes of overhead per event towards a batch's size.
EVENT_OVERHEAD = 26


def insert_group(conn: sqlite3.Connection, name: str, arn: str, now: int) -> bool:
    """Create a group row; False when it exists."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO log_groups (name, arn, created_at) VALUES (?, ?, ?)",
        (name, arn, now),
    )
    return cursor.rowcount == 1


_GROUPS = (
    "SELECT g.*, (SELECT coalesce(sum(s.stored_bytes), 0) FROM log_streams s"
    " WHERE s.group_name = g.name) AS stored_bytes FROM log_groups g"
)


def _group(row: Row) -> LogGroup:
    return LogGroup(row["name"], row["arn"], row["created_at"], row["stored_bytes"])


def get_group(conn: sqlite3.Connection, name: str) -> LogGroup | None:
    """A group by name."""
    row = conn.execute(f"{_GROUPS} WHERE g.name = ?", (name,)).fetchone()
    return _group(row) if row else None


def list_groups(conn: sqlite3.Connection, prefix: str = "") -> list[LogGroup]:
    """Groups by name, optionally those starting with ``prefix``."""
    rows = conn.execute(
        f"{_GROUPS} WHERE substr(g.name, 1, ?) = ? ORDER BY g.name", (len(prefix), prefix)
    )
    return [_group(r) for r in rows]


def _stream(row: Row, group_arn: str) -> LogStream:
    return LogStream(
        group=row["group_name"],
        name=row["name"],
        arn=f"{group_arn.removesuffix(':*')}:log-stream:{row['name']}",
        created_at=row["created_at"],
        first_event_timestamp=row["first_event_timestamp"],
        last_event_timestamp=row["last_event_timestamp"],
        last_ingestion_time=row["last_ingestion_time"],
        stored_bytes=row["stored_bytes"],
    )


def insert_stream(conn: sqlite3.Connection, group: str, name: str, now: int) -> bool:
    """Create a stream row in an existing group; False when it exists."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO log_streams (group_name, name, created_at) VALUES (?, ?, ?)",
        (group, name, now),
    )
    return cursor.rowcount == 1


def stream_row(conn: sqlite3.Connection, group: str, name: str) -> Row | None:
    """A stream's row (with its id and next sequence number)."""
    row: Row | None = conn.execute(
        "SELECT s.*, g.arn AS group_arn FROM log_streams s JOIN log_groups g ON g.name = s.group_name"
        " WHERE s.group_name = ? AND s.name = ?",
        (group, name),
    ).fetchone()
    return row


def get_stream(conn: sqlite3.Connection, group: str, name: str) -> LogStream | None:
    """A stream by group and name."""
    row = stream_row(conn, group, name)
    return _stream(row, row["group_arn"]) if row else None


def list_streams(conn: sqlite3.Connection, group: str, prefix: str = "") -> list[LogStream]:
    """Streams of a group by name, optionally those starting with ``prefix``."""
    rows = conn.execute(
        "SELECT s.*, g.arn AS group_arn FROM log_streams s JOIN log_groups g ON g.name = s.group_name"
        " WHERE s.group_name = ? AND substr(s.name, 1, ?) = ? ORDER BY s.name",
        (group, len(prefix), prefix),
    )
    return [_stream(r, r["group_arn"]) for r in rows]


def add_events(
    conn: sqlite3.Connection, stream: Row, events: Sequence[tuple[int, str]], now: int
) -> None:
    """Append events to a stream in order, numbering them from its next sequence number."""
    first_seq = stream["next_seq"]
    conn.executemany(
        "INSERT INTO log_events (stream_id, seq, timestamp, ingestion_time, message) VALUES (?, ?, ?, ?, ?)",
        [(stream["id"], first_seq + i, ts, now, message) for i, (ts, message) in enumerate(events)],
    )
    size = sum(len(m.encode()) for _, m in events)
    conn.execute(
        "UPDATE log_streams SET next_seq = next_seq + ?1, stored_bytes = stored_bytes + ?2,"
        " first_event_timestamp = min(coalesce(first_event_timestamp, ?3), ?3),"
        " last_event_timestamp = max(coalesce(last_event_timestamp, ?4), ?4),"
        " last_ingestion_time = ?5 WHERE id = ?6",
        (
            len(events),
            size,
            min(ts for ts, _ in events),
            max(ts for ts, _ in events),
            now,
            stream["id"],
        ),
    )


def _event(row: Row) -> LogEvent:
    return LogEvent(row["seq"], row["timestamp"], row["message"], row["ingestion_time"])


def events_from(
    conn: sqlite3.Connection,
    stream_id: int,
    seq: int,
    limit: int,
    window: tuple[int | None, int | None],
    forward: bool,
) -> list[LogEvent]:
    """Up to ``limit`` events in the time ``window`` [start, end) past sequence number ``seq``:
    after it oldest first (``forward``), or before it newest first."""
    op, order = (">", "ASC") if forward else ("<", "DESC")
    rows = conn.execute(
        f"SELECT * FROM log_events WHERE stream_id = ?1 AND seq {op} ?2"
        f" AND (?3 IS NULL OR timestamp >= ?3) AND (?4 IS NULL OR timestamp < ?4) ORDER BY seq {order} LIMIT ?5",
        (stream_id, seq, *window, limit),
    )
    return [_event(r) for r in rows]


def scan_events(
    conn: sqlite3.Connection,
    group: str,
    streams: Sequence[str] | None,
    prefix: str,
    window: tuple[int | None, int | None],
    after: Sequence[int | str] | None,
    chunk: int = 1000,
) -> Generator[FoundEvent, None, None]:
    """A group's events ordered by (timestamp, stream id, seq), after the key ``after``, read lazily.

    ``streams`` (names) or ``prefix`` narrow the streams; ``window`` is [start, end] in ms
    (FilterLogEvents returns events at ``endTime``; GetLogEvents does not).
    One statement sorts once; close the iterator to end its read.
    """
    names = list(streams or [])
    ts, sid, seq = after if after else (None, 0, 0)  # (timestamp, stream id, seq)
    cursor = conn.execute(
        "SELECT s.name AS stream_name, e.* FROM log_events e JOIN log_streams s ON s.id = e.stream_id"
        " WHERE s.group_name = ?1 AND substr(s.name, 1, ?2) = ?3"
        f" AND (?4 = 0 OR s.name IN ({_placeholders(10, len(names))}))"
        " AND (?5 IS NULL OR e.timestamp >= ?5) AND (?6 IS NULL OR e.timestamp <= ?6)"
        " AND (?7 IS NULL OR (e.timestamp, e.stream_id, e.seq) > (?7, ?8, ?9))"
        " ORDER BY e.timestamp, e.stream_id, e.seq",
        (group, len(prefix), prefix, len(names), *window, ts, sid, seq, *names),
    )
    try:
        while rows := cursor.fetchmany(chunk):
            for r in rows:
                yield FoundEvent(r["stream_name"], r["stream_id"], _event(r))
    finally:
        cursor.close()


def _placeholders(first: int, count: int) -> str:
    """Numbered parameters ``?first, …`` (plain ``?`` would clash with numbered ones)."""
    return ", ".join(f"?{first + i}" for i in range(count)) or "NULL"
