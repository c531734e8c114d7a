"""The transactional outbox: events commit with their cause, are claimed, leased and acked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from s3batch.state import outbox
from s3batch.state.db import Database
from s3batch.state.outbox import LEASE, OutboxEvent

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _append(db: Database, topic: str, payload: object, now: datetime = T0) -> int:
    with db.transaction() as conn:
        return outbox.append(conn, topic, payload, now)


def _claim(db: Database, topic: str, limit: int, now: datetime) -> list[OutboxEvent]:
    with db.transaction() as conn:
        return outbox.claim(conn, topic, limit, now)


def _ack(db: Database, ids: list[int], now: datetime) -> None:
    with db.transaction() as conn:
        outbox.ack(conn, ids, now)


class Boom(Exception):
    pass


def test_append_in_a_transaction_that_rolls_back_leaves_nothing(db: Database) -> None:
    with pytest.raises(Boom), db.transaction() as conn:
        outbox.append(conn, "t", {"n": 1}, T0)
        assert outbox.pending(conn, "t") == 1  # visible inside the transaction...
        raise Boom
    assert outbox.pending(db.conn, "t") == 0  # ...and gone with it
    assert _claim(db, "t", 10, T0) == []


def test_append_rolls_back_together_with_the_change_that_caused_it(db: Database) -> None:
    with pytest.raises(Boom), db.transaction() as conn:
        conn.execute("INSERT INTO released_blobs (blob_id) VALUES ('b1')")
        outbox.append(conn, "t", {"n": 1}, T0)
        raise Boom
    assert db.conn.execute("SELECT count(*) AS n FROM released_blobs").fetchone()["n"] == 0
    assert outbox.pending(db.conn, "t") == 0


def test_claim_returns_payloads_oldest_first_up_to_the_limit(db: Database) -> None:
    ids = [_append(db, "t", {"n": i, "s": "é/+%"}, T0 + timedelta(seconds=i)) for i in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5
    events = _claim(db, "t", 3, T0 + timedelta(seconds=10))
    assert [e.id for e in events] == ids[:3]
    assert [e.payload for e in events] == [{"n": i, "s": "é/+%"} for i in range(3)]
    assert {e.topic for e in events} == {"t"}
    assert events[0].created_at == T0.isoformat(timespec="microseconds")


def test_claimed_events_are_not_handed_out_again_within_the_lease(db: Database) -> None:
    ids = [_append(db, "t", {"n": i}) for i in range(4)]
    first = _claim(db, "t", 2, T0)
    second = _claim(db, "t", 10, T0 + timedelta(seconds=1))
    assert [e.id for e in first] == ids[:2]
    assert [e.id for e in second] == ids[2:]
    assert _claim(db, "t", 10, T0 + LEASE) == []


def test_a_claim_older_than_the_lease_is_handed_out_again(db: Database) -> None:
    event_id = _append(db, "t", {"n": 1})
    assert [e.id for e in _claim(db, "t", 10, T0)] == [event_id]
    assert _claim(db, "t", 10, T0 + LEASE) == []  # exactly one lease old: still held
    later = T0 + LEASE + timedelta(microseconds=1)
    assert [e.id for e in _claim(db, "t", 10, later)] == [event_id]
    # The re-claim renews the lease from `later`.
    assert _claim(db, "t", 10, later + LEASE - timedelta(seconds=1)) == []
    assert [e.id for e in _claim(db, "t", 10, later + LEASE + timedelta(seconds=1))] == [event_id]


def test_acked_events_are_never_handed_out_again(db: Database) -> None:
    ids = [_append(db, "t", {"n": i}) for i in range(3)]
    claimed = _claim(db, "t", 10, T0)
    _ack(db, [claimed[0].id, claimed[2].id], T0 + timedelta(seconds=1))
    much_later = T0 + 10 * LEASE
    assert [e.id for e in _claim(db, "t", 10, much_later)] == [ids[1]]
    _ack(db, [ids[1]], much_later)
    assert _claim(db, "t", 10, much_later + 10 * LEASE) == []


def test_ack_of_an_unclaimed_event_also_removes_it_from_pending(db: Database) -> None:
    event_id = _append(db, "t", {"n": 1})
    _ack(db, [event_id], T0)
    assert outbox.pending(db.conn, "t") == 0
    assert _claim(db, "t", 10, T0) == []


def test_pending_counts_unacked_events_per_topic(db: Database) -> None:
    a = [_append(db, "a", {"n": i}) for i in range(3)]
    _append(db, "b", {"n": 0})
    assert outbox.pending(db.conn, "a") == 3
    assert outbox.pending(db.conn, "b") == 1
    assert outbox.pending(db.conn, "c") == 0
    _claim(db, "a", 10, T0)
    assert outbox.pending(db.conn, "a") == 3  # claimed is still pending until acked
    _ack(db, a[:2], T0)
    assert outbox.pending(db.conn, "a") == 1
    assert outbox.pending(db.conn, "b") == 1


def test_claim_only_takes_its_own_topic(db: Database) -> None:
    a = _append(db, "a", {"n": 1})
    b = _append(db, "b", {"n": 2})
    assert [e.id for e in _claim(db, "b", 10, T0)] == [b]
    assert [e.id for e in _claim(db, "a", 10, T0)] == [a]
    assert _claim(db, "b", 10, T0) == []


def test_claim_in_a_transaction_that_rolls_back_does_not_hold_the_events(db: Database) -> None:
    event_id = _append(db, "t", {"n": 1})
    with pytest.raises(Boom), db.transaction() as conn:
        assert [e.id for e in outbox.claim(conn, "t", 10, T0)] == [event_id]
        raise Boom
    assert [e.id for e in _claim(db, "t", 10, T0 + timedelta(seconds=1))] == [event_id]


def test_claim_with_zero_limit_takes_nothing(db: Database) -> None:
    _append(db, "t", {"n": 1})
    assert _claim(db, "t", 0, T0) == []
    assert len(_claim(db, "t", 10, T0)) == 1


def test_prune_drops_only_acknowledged_events_older_than_the_cutoff(db: Database) -> None:
    t0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    with db.transaction() as conn:
        old_acked = outbox.append(conn, "t", {"n": 1}, t0)
        old_pending = outbox.append(conn, "t", {"n": 2}, t0)
        new_acked = outbox.append(conn, "t", {"n": 3}, t0)
        outbox.ack(conn, [old_acked], t0)
        outbox.ack(conn, [new_acked], t0 + timedelta(hours=2))
        removed = outbox.prune(conn, t0 + timedelta(hours=1))
    assert removed == 1
    ids = [r["id"] for r in db.conn.execute("SELECT id FROM outbox ORDER BY id")]
    assert ids == [old_pending, new_acked]
