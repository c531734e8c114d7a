"""SQL for rules, received events and deliveries."""

from __future__ import annotations

import json
import sqlite3

from s3batch.events.models import Delivery, Rule
from s3batch.state.db import Row
from s3batch.types import Json


def _rule(row: Row) -> Rule:
    return Rule(
        row["bus"], row["name"], row["arn"], row["pattern"], row["state"], row["description"],
        tuple(json.loads(row["targets"])),
    )


def put_rule(conn: sqlite3.Connection, rule: Rule) -> None:
    """Create or replace a rule (with its targets) and bump the rules version."""
    conn.execute(
        "INSERT OR REPLACE INTO rules (bus, name, arn, pattern, state, description, targets)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (rule.bus, rule.name, rule.arn, rule.pattern, rule.state, rule.description, json.dumps(list(rule.targets))),
    )
    conn.execute("UPDATE rules_version SET version = version + 1 WHERE id = 1")


def get_rule(conn: sqlite3.Connection, bus: str, name: str) -> Rule | None:
    """A rule by bus and name."""
    row = conn.execute("SELECT * FROM rules WHERE bus = ? AND name = ?", (bus, name)).fetchone()
    return _rule(row) if row else None


def rules(conn: sqlite3.Connection, bus: str | None = None) -> list[Rule]:
    """Rules, by bus and name."""
    if bus is None:
        return [_rule(r) for r in conn.execute("SELECT * FROM rules ORDER BY bus, name")]
    return [_rule(r) for r in conn.execute("SELECT * FROM rules WHERE bus = ? ORDER BY name", (bus,))]


def rules_version(conn: sqlite3.Connection) -> int:
    """A number that changes whenever any rule changes."""
    return int(conn.execute("SELECT version FROM rules_version WHERE id = 1").fetchone()["version"])


def record_event(conn: sqlite3.Connection, bus: str, event: Json, matched: list[str], at: str) -> None:
    """Remember an event the bus received and the rules it matched."""
    conn.execute(
        "INSERT OR REPLACE INTO bus_events (event_id, bus, received_at, event, matched) VALUES (?, ?, ?, ?, ?)",
        (event["id"], bus, at, json.dumps(event), json.dumps(matched)),
    )


def record_delivery(conn: sqlite3.Connection, delivery: Delivery) -> None:
    """Remember what a target did with an event (the latest outcome wins)."""
    conn.execute(
        "INSERT OR REPLACE INTO deliveries (event_id, rule, target_id, status, detail, at) VALUES (?, ?, ?, ?, ?, ?)",
        (delivery.event_id, delivery.rule, delivery.target_id, delivery.status, delivery.detail, delivery.at),
    )


def deliveries(conn: sqlite3.Connection, event_id: str) -> list[Delivery]:
    """What the targets did with one event."""
    rows = conn.execute("SELECT * FROM deliveries WHERE event_id = ? ORDER BY rule, target_id", (event_id,))
    return [Delivery(**r) for r in rows]


def recent_events(conn: sqlite3.Connection, limit: int = 50) -> list[tuple[Json, list[str]]]:
    """The newest received events with the rules they matched."""
    rows = conn.execute("SELECT event, matched FROM bus_events ORDER BY received_at DESC, rowid DESC LIMIT ?", (limit,))
    return [(json.loads(r["event"]), json.loads(r["matched"])) for r in rows]
