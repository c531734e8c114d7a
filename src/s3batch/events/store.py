"""SQL for rules, received events and deliveries."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

from s3batch.events.models import Bus, DeadLetter, Delivery, Retry, Rule
from s3batch.state.db import Row
from s3batch.types import Json

#: Outbox topic of events put on a bus.
BUS_TOPIC = "events.bus"


def stamp(moment: datetime) -> str:
    """A time as the retry and dead-letter tables keep it (sortable ISO UTC)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _rule(row: Row) -> Rule:
    return Rule(
        row["bus"],
        row["name"],
        row["arn"],
        row["pattern"],
        row["state"],
        row["description"],
        tuple(json.loads(row["targets"])),
        row["schedule"],
    )


def put_rule(conn: sqlite3.Connection, rule: Rule) -> None:
    """Create or replace a rule (with its targets) and bump the rules version."""
    conn.execute(
        "INSERT OR REPLACE INTO rules (bus, name, arn, pattern, state, description, targets, schedule)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            rule.bus,
            rule.name,
            rule.arn,
            rule.pattern,
            rule.state,
            rule.description,
            json.dumps(list(rule.targets)),
            rule.schedule,
        ),
    )
    if rule.schedule is None:  # a schedule put back later starts afresh
        conn.execute("DELETE FROM rule_schedules WHERE bus = ? AND rule = ?", (rule.bus, rule.name))
    conn.execute("UPDATE rules_version SET version = version + 1 WHERE id = 1")


def get_rule(conn: sqlite3.Connection, bus: str, name: str) -> Rule | None:
    """A rule by bus and name."""
    row = conn.execute("SELECT * FROM rules WHERE bus = ? AND name = ?", (bus, name)).fetchone()
    return _rule(row) if row else None


def rules(conn: sqlite3.Connection, bus: str | None = None) -> list[Rule]:
    """Rules, by bus and name."""
    if bus is None:
        return [_rule(r) for r in conn.execute("SELECT * FROM rules ORDER BY bus, name")]
    return [
        _rule(r) for r in conn.execute("SELECT * FROM rules WHERE bus = ? ORDER BY name", (bus,))
    ]


def scheduled_rules(conn: sqlite3.Connection) -> list[Rule]:
    """The rules with a ScheduleExpression, by bus and name."""
    rows = conn.execute("SELECT * FROM rules WHERE schedule IS NOT NULL ORDER BY bus, name")
    return [_rule(r) for r in rows]


def rules_version(conn: sqlite3.Connection) -> int:
    """A number that changes whenever any rule changes."""
    return int(conn.execute("SELECT version FROM rules_version WHERE id = 1").fetchone()["version"])


def record_event(
    conn: sqlite3.Connection, bus: str, event: Json, matched: list[str], at: str
) -> None:
    """Remember an event the bus received and the rules it matched."""
    conn.execute(
        "INSERT OR REPLACE INTO bus_events (event_id, bus, received_at, event, matched) VALUES (?, ?, ?, ?, ?)",
        (event["id"], bus, at, json.dumps(event), json.dumps(matched)),
    )


def record_delivery(conn: sqlite3.Connection, delivery: Delivery) -> None:
    """Remember what a target did with an event (the latest outcome wins)."""
    conn.execute(
        "INSERT OR REPLACE INTO deliveries (event_id, rule, target_id, status, detail, at) VALUES (?, ?, ?, ?, ?, ?)",
        (
            delivery.event_id,
            delivery.rule,
            delivery.target_id,
            delivery.status,
            delivery.detail,
            delivery.at,
        ),
    )


def deliveries(conn: sqlite3.Connection, event_id: str) -> list[Delivery]:
    """What the targets did with one event."""
    rows = conn.execute(
        "SELECT * FROM deliveries WHERE event_id = ? ORDER BY rule, target_id", (event_id,)
    )
    return [Delivery(**r) for r in rows]


def received_event(conn: sqlite3.Connection, event_id: str) -> Json | None:
    """One event the bus received, by its id (None when it holds none)."""
    row = conn.execute("SELECT event FROM bus_events WHERE event_id = ?", (event_id,)).fetchone()
    return json.loads(row["event"]) if row else None


def recent_events(conn: sqlite3.Connection, limit: int = 50) -> list[tuple[Json, list[str]]]:
    """The newest received events with the rules they matched."""
    rows = conn.execute(
        "SELECT event, matched FROM bus_events ORDER BY received_at DESC, rowid DESC LIMIT ?",
        (limit,),
    )
    return [(json.loads(r["event"]), json.loads(r["matched"])) for r in rows]


def delete_rule(conn: sqlite3.Connection, bus: str, name: str) -> bool:
    """Delete a rule; True when it existed."""
    conn.execute(
        "DELETE FROM event_tags WHERE arn IN (SELECT arn FROM rules WHERE bus = ? AND name = ?)",
        (bus, name),
    )
    conn.execute("DELETE FROM rule_schedules WHERE bus = ? AND rule = ?", (bus, name))
    gone = conn.execute("DELETE FROM rules WHERE bus = ? AND name = ?", (bus, name)).rowcount
    conn.execute("UPDATE rules_version SET version = version + 1 WHERE id = 1")
    return bool(gone)


# -- buses -----------------------------------------------------------------------------------


def put_bus(conn: sqlite3.Connection, bus: Bus) -> None:
    """Create a custom bus."""
    conn.execute(
        "INSERT INTO event_buses (name, arn, description, created_at) VALUES (?, ?, ?, ?)",
        (bus.name, bus.arn, bus.description, bus.created_at),
    )


def get_bus(conn: sqlite3.Connection, name: str) -> Bus | None:
    """A custom bus by name."""
    row = conn.execute("SELECT * FROM event_buses WHERE name = ?", (name,)).fetchone()
    return Bus(**row) if row else None


def buses(conn: sqlite3.Connection) -> list[Bus]:
    """Every custom bus, by name."""
    return [Bus(**r) for r in conn.execute("SELECT * FROM event_buses ORDER BY name")]


def delete_bus(conn: sqlite3.Connection, name: str) -> None:
    """Delete a custom bus and its rules (with their tags)."""
    conn.execute(
        "DELETE FROM event_tags WHERE arn IN (SELECT arn FROM rules WHERE bus = ?)"
        " OR arn IN (SELECT arn FROM event_buses WHERE name = ?)",
        (name, name),
    )
    conn.execute("DELETE FROM event_buses WHERE name = ?", (name,))
    conn.execute("DELETE FROM rules WHERE bus = ?", (name,))
    conn.execute("UPDATE rules_version SET version = version + 1 WHERE id = 1")


# -- retries ---------------------------------------------------------------------------------


def _retry(row: Row) -> Retry:
    return Retry(**{**row, "event": json.loads(row["event"])})


def add_retry(conn: sqlite3.Connection, retry: Retry) -> None:
    """Schedule a delivery's next attempt (``retry.id`` is ignored)."""
    conn.execute(
        "INSERT INTO event_retries (bus, rule, target_id, event, ingested_at, attempts, due_at, last_error)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            retry.bus,
            retry.rule,
            retry.target_id,
            json.dumps(retry.event),
            retry.ingested_at,
            retry.attempts,
            retry.due_at,
            retry.last_error,
        ),
    )


def due_retries(conn: sqlite3.Connection, now: str, limit: int) -> list[Retry]:
    """Retries due at ``now`` (ISO UTC), oldest due first."""
    rows = conn.execute(
        "SELECT * FROM event_retries WHERE due_at <= ? ORDER BY due_at, id LIMIT ?", (now, limit)
    )
    return [_retry(r) for r in rows]


def delete_retry(conn: sqlite3.Connection, retry_id: int) -> None:
    """Forget a retry (it was attempted; a further one is added anew)."""
    conn.execute("DELETE FROM event_retries WHERE id = ?", (retry_id,))


def pending_retries(conn: sqlite3.Connection) -> list[Retry]:
    """Every scheduled retry, soonest first."""
    return [_retry(r) for r in conn.execute("SELECT * FROM event_retries ORDER BY due_at, id")]


# -- dead letters ----------------------------------------------------------------------------


def _dead_letter(row: Row) -> DeadLetter:
    return DeadLetter(**{**row, "event": json.loads(row["event"])})


def add_dead_letter(conn: sqlite3.Connection, letter: DeadLetter) -> None:
    """Keep an undeliverable event."""
    conn.execute(
        "INSERT INTO dead_letters (id, bus, rule, rule_arn, target_id, target_arn, dlq_arn, event, ingested_at,"
        " error_code, error_message, exhausted, attempts, created_at, replayed_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            letter.id,
            letter.bus,
            letter.rule,
            letter.rule_arn,
            letter.target_id,
            letter.target_arn,
            letter.dlq_arn,
            json.dumps(letter.event),
            letter.ingested_at,
            letter.error_code,
            letter.error_message,
            letter.exhausted,
            letter.attempts,
            letter.created_at,
            letter.replayed_at,
        ),
    )


def dead_letters(conn: sqlite3.Connection, include_replayed: bool = False) -> list[DeadLetter]:
    """Dead letters, oldest first (those not yet replayed, unless asked)."""
    where = "" if include_replayed else " WHERE replayed_at IS NULL"
    return [
        _dead_letter(r)
        for r in conn.execute(f"SELECT * FROM dead_letters{where} ORDER BY created_at, id")
    ]


def get_dead_letter(conn: sqlite3.Connection, letter_id: str) -> DeadLetter | None:
    """One dead letter by id."""
    row = conn.execute("SELECT * FROM dead_letters WHERE id = ?", (letter_id,)).fetchone()
    return _dead_letter(row) if row else None


def mark_replayed(conn: sqlite3.Connection, letter_id: str, at: str) -> bool:
    """Mark a dead letter replayed; False when it was already (compare-and-set)."""
    cursor = conn.execute(
        "UPDATE dead_letters SET replayed_at = ? WHERE id = ? AND replayed_at IS NULL",
        (at, letter_id),
    )
    return cursor.rowcount == 1


# -- tags and schedules ----------------------------------------------------------------------


def arn_exists(conn: sqlite3.Connection, arn: str) -> bool:
    """Whether a stored rule or custom bus has this ARN."""
    row = conn.execute(
        "SELECT 1 FROM rules WHERE arn = ? UNION ALL SELECT 1 FROM event_buses WHERE arn = ?",
        (arn, arn),
    ).fetchone()
    return row is not None


def tags(conn: sqlite3.Connection, arn: str) -> dict[str, str]:
    """The tags of a rule or bus, by key."""
    rows = conn.execute("SELECT key, value FROM event_tags WHERE arn = ? ORDER BY key", (arn,))
    return {r["key"]: r["value"] for r in rows}


def put_tags(conn: sqlite3.Connection, arn: str, tags: dict[str, str]) -> None:
    """Add tags to a resource, replacing the values of keys it already has."""
    conn.executemany(
        "INSERT OR REPLACE INTO event_tags (arn, key, value) VALUES (?, ?, ?)",
        [(arn, k, v) for k, v in tags.items()],
    )


def delete_tags(conn: sqlite3.Connection, arn: str, keys: list[str]) -> None:
    """Remove tags from a resource (absent keys are fine)."""
    conn.executemany("DELETE FROM event_tags WHERE arn = ? AND key = ?", [(arn, k) for k in keys])


def schedule(conn: sqlite3.Connection, bus: str, rule: str) -> tuple[str, str | None] | None:
    """A rule's schedule as last computed: (expression, next firing as ISO UTC or None)."""
    row = conn.execute(
        "SELECT expression, next_at FROM rule_schedules WHERE bus = ? AND rule = ?", (bus, rule)
    ).fetchone()
    return (row["expression"], row["next_at"]) if row else None


def set_schedule(
    conn: sqlite3.Connection, bus: str, rule: str, expression: str, next_at: str | None
) -> None:
    """Record when a rule's schedule fires next."""
    conn.execute(
        "INSERT OR REPLACE INTO rule_schedules (bus, rule, expression, next_at) VALUES (?, ?, ?, ?)",
        (bus, rule, expression, next_at),
    )
