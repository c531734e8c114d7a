"""Retries with backoff, RetryPolicy limits and dead letters (with replay), on a FakeClock."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from s3batch.clock import FakeClock
from s3batch.errors import S3BatchError
from s3batch.events import store
from s3batch.events.dispatcher import Dispatcher
from s3batch.events.errors import ValidationException
from s3batch.events.retry import BY_AGE, BY_ATTEMPTS, MAX_DELAY, RetryPolicy, backoff
from s3batch.events.service import DeadLetterNotFound, EventBus
from s3batch.events.targets import RetriableTargetError, Target
from s3batch.state.db import Database

T0 = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
ACCOUNT = "123456789012"
DLQ = f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq"
PATTERN = {"source": ["my.app"]}


class FlakyTarget:
    """Fails with the queued errors, then succeeds."""

    def __init__(self, *failures: S3BatchError) -> None:
        self.failures = list(failures)
        self.calls = 0

    def deliver(self, event: Any, target: Any, payload: Any, delivery_id: str) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


class Forbidden(S3BatchError):
    """No permission."""

    code = "NO_PERMISSIONS"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def bus(db: Database, clock: FakeClock) -> EventBus:
    return EventBus(db, clock, "us-east-1", ACCOUNT)


def setup(
    db: Database, clock: FakeClock, bus: EventBus, handler: FlakyTarget, **target: Any
) -> Dispatcher:
    bus.put_rule({"Name": "r", "EventPattern": PATTERN}, [{"Id": "t", "Arn": "q", **target}])
    bus.put_events([{"Source": "my.app", "DetailType": "x", "Detail": "{}"}])
    targets: dict[str, Target] = {"batch": handler}
    return Dispatcher(db, clock, targets, rng=random.Random(7))


def statuses(db: Database) -> list[str]:
    return [r["status"] for r in db.conn.execute("SELECT status FROM deliveries")]


def run_until_idle(
    dispatcher: Dispatcher, clock: FakeClock, seconds: float, step: float = 1.0
) -> None:
    waited = 0.0
    while waited < seconds:
        dispatcher.tick()
        clock.advance(step)
        waited += step


# -- policy and backoff (pure) -------------------------------------------------------------------


def test_the_default_policy_is_185_attempts_and_a_day() -> None:
    assert RetryPolicy.of({"Id": "t"}) == RetryPolicy(185, 86_400)


@pytest.mark.parametrize(
    "policy",
    [
        {"MaximumRetryAttempts": 186},
        {"MaximumRetryAttempts": -1},
        {"MaximumEventAgeInSeconds": 59},
        {"MaximumEventAgeInSeconds": 86_401},
        {"MaximumRetryAttempts": "3"},
    ],
)
def test_out_of_range_policies_are_refused(policy: dict[str, Any]) -> None:
    with pytest.raises(ValidationException):
        RetryPolicy.of({"Id": "t", "RetryPolicy": policy})


def test_exhaustion_is_by_attempts_or_by_age_whichever_first() -> None:
    policy = RetryPolicy(3, 60)
    assert policy.exhausted(2, 59) is None
    assert policy.exhausted(3, 0) == BY_ATTEMPTS
    assert policy.exhausted(0, 60) == BY_AGE


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    rng = random.Random(1)
    for n in range(1, 12):
        ceiling = min(MAX_DELAY, 2 ** (n - 1))
        delays = [backoff(n, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered
    assert backoff(500, rng) <= MAX_DELAY


# -- the dispatcher ------------------------------------------------------------------------------


def test_a_retriable_failure_is_retried_after_a_backoff_then_delivered(
    db: Database, clock: FakeClock, bus: EventBus
) -> None:
    handler = FlakyTarget(RetriableTargetError("busy"), RetriableTargetError("busy"))
    dispatcher = setup(db, clock, bus, handler)
    dispatcher.tick()
    assert statuses(db) == ["RETRYING"] and handler.calls == 1
    [retry] = bus.pending_retries()
    assert retry.attempts == 1
    dispatcher.tick()  # not due yet
    assert handler.calls == 1
    run_until_idle(dispatcher, clock, 10)
    assert handler.calls == 3
    assert statuses(db) == ["DELIVERED"]
    assert bus.pending_retries() == [] and bus.dead_letters() == []


def test_retries_stop_at_maximum_attempts_and_go_to_the_dead_letter_queue(
    db: Database, clock: FakeClock, bus: EventBus
) -> None:
    handler = FlakyTarget(*[RetriableTargetError("down", "TIMEOUT") for _ in range(10)])
    dispatcher = setup(
        db,
        clock,
        bus,
        handler,
        RetryPolicy={"MaximumRetryAttempts": 2},
        DeadLetterConfig={"Arn": DLQ},
    )
    run_until_idle(dispatcher, clock, 30)
    assert handler.calls == 3  # the first attempt and 2 retries
    [letter] = bus.dead_letters()
    assert (letter.error_code, letter.error_message, letter.exhausted, letter.attempts) == (
        "TIMEOUT",
        "down",
        BY_ATTEMPTS,
        2,
    )
    assert (letter.rule, letter.target_id, letter.dlq_arn, letter.target_arn) == (
        "r",
        "t",
        DLQ,
        "q",
    )
    assert letter.rule_arn.endswith(":rule/r") and letter.event["source"] == "my.app"
    assert statuses(db) == ["DEAD_LETTERED"]


def test_retries_stop_at_the_maximum_event_age(
    db: Database, clock: FakeClock, bus: EventBus
) -> None:
    handler = FlakyTarget(*[RetriableTargetError("down") for _ in range(1000)])
    dispatcher = setup(
        db,
        clock,
        bus,
        handler,
        RetryPolicy={"MaximumEventAgeInSeconds": 60},
        DeadLetterConfig={"Arn": DLQ},
    )
    run_until_idle(dispatcher, clock, 200)
    [letter] = bus.dead_letters()
    assert letter.exhausted == BY_AGE
    assert 3 <= handler.calls < 20


def test_a_due_retry_past_the_maximum_event_age_is_not_made_but_dead_lettered(
    db: Database, clock: FakeClock, bus: EventBus
) -> None:
    handler = FlakyTarget(RetriableTargetError("down", "TIMEOUT"))
    dispatcher = setup(
        db,
        clock,
        bus,
        handler,
        RetryPolicy={"MaximumEventAgeInSeconds": 60},
        DeadLetterConfig={"Arn": DLQ},
    )
    dispatcher.tick()
    assert statuses(db) == ["RETRYING"]
    clock.advance(61)  # the bus was stopped past the retry's due time and the event's age
    dispatcher.tick()
    assert handler.calls == 1  # the retry was not made, although the target would now succeed
    [letter] = bus.dead_letters()
    assert (letter.error_code, letter.error_message, letter.exhausted, letter.attempts) == (
        "TIMEOUT",
        "down",
        BY_AGE,
        1,
    )
    assert statuses(db) == ["DEAD_LETTERED"] and bus.pending_retries() == []


def test_a_due_retry_past_the_maximum_event_age_is_dropped_without_a_queue(
    db: Database, clock: FakeClock, bus: EventBus
) -> None:
    handler = FlakyTarget(RetriableTargetError("down"))
    dispatcher = setup(db, clock, bus, handler, RetryPolicy={"MaximumEventAgeInSeconds": 60})
    dispatcher.tick()
    clock.advance(60)
    dispatcher.tick()
    assert handler.calls == 1 and bus.dead_letters() == []
    [detail] = [r["detail"] for r in db.conn.execute("SELECT detail FROM deliveries")]
    assert statuses(db) == ["FAILED"] and BY_AGE in detail


def test_no_retry_is_scheduled_past_the_maximum_event_age(
    db: Database, clock: FakeClock, bus: EventBus
) -> None:
    handler = FlakyTarget(RetriableTargetError("down"))
    dispatcher = setup(
        db,
        clock,
        bus,
        handler,
        RetryPolicy={"MaximumEventAgeInSeconds": 60},
        DeadLetterConfig={"Arn": DLQ},
    )
    clock.advance(59.5)  # the event waited on the bus; the first backoff (>= 0.5 s) ends past 60 s
    dispatcher.tick()
    assert handler.calls == 1 and bus.pending_retries() == []
    assert bus.dead_letters()[0].exhausted == BY_AGE


def test_without_a_dead_letter_queue_an_exhausted_event_is_dropped(
    db: Database, clock: FakeClock, bus: EventBus
) -> None:
    handler = FlakyTarget(RetriableTargetError("down"))
    dispatcher = setup(db, clock, bus, handler, RetryPolicy={"MaximumRetryAttempts": 0})
    dispatcher.tick()
    assert statuses(db) == ["FAILED"]
    assert bus.pending_retries() == [] and bus.dead_letters() == []


def test_a_final_failure_goes_to_the_dead_letter_queue_at_once(
    db: Database, clock: FakeClock, bus: EventBus
) -> None:
    handler = FlakyTarget(Forbidden())
    dispatcher = setup(db, clock, bus, handler, DeadLetterConfig={"Arn": DLQ})
    dispatcher.tick()
    assert handler.calls == 1 and bus.pending_retries() == []
    [letter] = bus.dead_letters()
    assert (letter.error_code, letter.exhausted, letter.attempts) == ("NO_PERMISSIONS", None, 0)


def test_a_dead_letter_is_replayed_once(db: Database, clock: FakeClock, bus: EventBus) -> None:
    handler = FlakyTarget(Forbidden())
    dispatcher = setup(db, clock, bus, handler, DeadLetterConfig={"Arn": DLQ})
    dispatcher.tick()
    [letter] = bus.dead_letters()
    assert bus.replay(letter.id).id == letter.id
    with pytest.raises(DeadLetterNotFound):
        bus.replay(letter.id)
    assert bus.dead_letters() == []
    assert bus.dead_letters(include_replayed=True)[0].replayed_at is not None
    assert dispatcher.tick() == 1
    assert handler.calls == 2 and statuses(db) == ["DELIVERED"]


def test_a_retry_whose_target_was_removed_is_dropped(
    db: Database, clock: FakeClock, bus: EventBus
) -> None:
    handler = FlakyTarget(RetriableTargetError("busy"))
    dispatcher = setup(db, clock, bus, handler)
    dispatcher.tick()
    bus.remove_targets("r", None, ["t"])
    run_until_idle(dispatcher, clock, 5)
    assert handler.calls == 1
    assert statuses(db) == ["FAILED"]
    assert store.pending_retries(db.conn) == []
