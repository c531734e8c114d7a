"""Dispatcher.tick: claim bus events, match rules, transform input, deliver, record, ack."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from s3batch.clock import FakeClock
from s3batch.errors import S3BatchError
from s3batch.events import store
from s3batch.events.dispatcher import BUS_TOPIC, Dispatcher
from s3batch.events.models import Delivery
from s3batch.events.service import EventBus
from s3batch.events.targets import Target, kind_of
from s3batch.state import outbox
from s3batch.state.db import Database

T0 = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
ACCOUNT = "123456789012"
QUEUE_ARN = f"arn:aws:batch:us-east-1:{ACCOUNT}:job-queue/q"
CREATED = {"source": ["aws.s3"], "detail-type": ["Object Created"]}


class QuotaExceeded(S3BatchError):
    """Too many jobs."""

    code = "ClientException"


class RecordingTarget:
    """A target that remembers every delivery and can be told to fail."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail = fail

    def deliver(self, event: Any, target: Any, payload: Any, delivery_id: str) -> str:
        self.calls.append(
            {"event": event, "target": target, "payload": payload, "delivery_id": delivery_id}
        )
        if self.fail is not None:
            raise self.fail
        return f"done #{len(self.calls)}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def bus(db: Database, clock: FakeClock) -> EventBus:
    return EventBus(db, clock, "us-east-1", ACCOUNT)


@pytest.fixture
def batch() -> RecordingTarget:
    return RecordingTarget()


@pytest.fixture
def dispatcher(db: Database, clock: FakeClock, batch: RecordingTarget) -> Dispatcher:
    targets: dict[str, Target] = {"batch": batch}
    return Dispatcher(db, clock, targets)


def s3_event(
    key: str = "a.csv", detail_type: str = "Object Created", bucket: str = "data"
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": "2026-02-03T04:05:06Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 3},
            "reason": "PutObject",
        },
    }


def publish(
    db: Database, clock: FakeClock, event: dict[str, Any], bus: str = "default"
) -> dict[str, Any]:
    with db.transaction() as conn:
        outbox.append(conn, BUS_TOPIC, {"bus": bus, "event": event}, clock.now())
    return event


def target(id_: str = "t1", arn: str = QUEUE_ARN, **extra: Any) -> dict[str, Any]:
    return {"Id": id_, "Arn": arn, **extra}


def deliveries(db: Database, event: dict[str, Any]) -> list[Delivery]:
    return store.deliveries(db.conn, event["id"])


def matched(db: Database, event: dict[str, Any]) -> list[str] | None:
    row = db.conn.execute(
        "SELECT matched FROM bus_events WHERE event_id = ?", (event["id"],)
    ).fetchone()
    return None if row is None else json.loads(row["matched"])


# -- the happy path --------------------------------------------------------------------------------


def test_tick_with_nothing_pending_does_nothing(dispatcher: Dispatcher, db: Database) -> None:
    assert dispatcher.tick() == 0
    assert db.conn.execute("SELECT count(*) AS n FROM bus_events").fetchone()["n"] == 0


def test_a_matching_event_is_delivered_recorded_and_acked_once(
    dispatcher: Dispatcher, bus: EventBus, db: Database, clock: FakeClock, batch: RecordingTarget
) -> None:
    bus.put_rule({"Name": "r", "EventPattern": CREATED}, [target()])
    event = publish(db, clock, s3_event())
    assert dispatcher.tick() == 1
    [call] = batch.calls
    assert call["event"] == event
    assert call["payload"] == event  # no input settings: the whole event
    assert call["target"] == target()
    assert call["delivery_id"] == f"{event['id']}/r/t1"
    assert deliveries(db, event) == [
        Delivery(event["id"], "r", "t1", "DELIVERED", "done #1", "2026-02-03T04:05:06.000Z")
    ]
    assert matched(db, event) == ["r"]
    assert outbox.pending(db.conn, BUS_TOPIC) == 0
    assert dispatcher.tick() == 0
    assert len(batch.calls) == 1


def test_an_event_matching_nothing_is_recorded_and_acked(
    dispatcher: Dispatcher, bus: EventBus, db: Database, clock: FakeClock, batch: RecordingTarget
) -> None:
    bus.put_rule({"Name": "r", "EventPattern": CREATED}, [target()])
    event = publish(db, clock, s3_event(detail_type="Object Deleted"))
    assert dispatcher.tick() == 1
    assert batch.calls == []
    assert matched(db, event) == []
    assert deliveries(db, event) == []
    assert outbox.pending(db.conn, BUS_TOPIC) == 0
    assert bus.recent_events() == [(event, [])]


def test_every_target_of_every_matching_rule_gets_the_event(
    dispatcher: Dispatcher, bus: EventBus, db: Database, clock: FakeClock, batch: RecordingTarget
) -> None:
    bus.put_rule({"Name": "b-rule", "EventPattern": CREATED}, [target("x"), target("y")])
    bus.put_rule({"Name": "a-rule", "EventPattern": {"source": ["aws.s3"]}}, [target("z")])
    bus.put_rule({"Name": "c-rule", "EventPattern": {"source": ["aws.ec2"]}}, [target("never")])
    event = publish(db, clock, s3_event())
    dispatcher.tick()
    assert [c["delivery_id"] for c in batch.calls] == [
        f"{event['id']}/a-rule/z",
        f"{event['id']}/b-rule/x",
        f"{event['id']}/b-rule/y",
    ]
    assert matched(db, event) == ["a-rule", "b-rule"]
    assert [(d.rule, d.target_id, d.status) for d in deliveries(db, event)] == [
        ("a-rule", "z", "DELIVERED"),
        ("b-rule", "x", "DELIVERED"),
        ("b-rule", "y", "DELIVERED"),
    ]


def test_the_input_transformer_shapes_the_payload(
    dispatcher: Dispatcher, bus: EventBus, db: Database, clock: FakeClock, batch: RecordingTarget
) -> None:
    transformer = {
        "InputPathsMap": {"bucket": "$.detail.bucket.name", "key": "$.detail.object.key"},
        "InputTemplate": '{"Parameters": {"bucket": <bucket>, "key": <key>}, "rule": <aws.events.rule-name>,'
        ' "arn": <aws.events.rule-arn>, "at": <aws.events.event.ingestion-time>}',
    }
    bus.put_rule({"Name": "r", "EventPattern": CREATED}, [target(InputTransformer=transformer)])
    event = publish(db, clock, s3_event('in/Q3 "report"+final (1).csv'))
    clock.advance(2)  # the event was put on the bus before this tick
    dispatcher.tick()
    payload = batch.calls[0]["payload"]
    assert payload["Parameters"] == {"bucket": "data", "key": 'in/Q3 "report"+final (1).csv'}
    assert payload["rule"] == "r"
    assert payload["arn"] == f"arn:aws:events:us-east-1:{ACCOUNT}:rule/r"
    assert datetime.fromisoformat(payload["at"].replace("Z", "+00:00")) == T0
    assert batch.calls[0]["event"] == event  # the target still sees the original event


def test_constant_input_replaces_the_event(
    dispatcher: Dispatcher, bus: EventBus, db: Database, clock: FakeClock, batch: RecordingTarget
) -> None:
    bus.put_rule(
        {"Name": "r", "EventPattern": CREATED}, [target(Input='{"Parameters": {"a": "1"}}')]
    )
    publish(db, clock, s3_event())
    dispatcher.tick()
    assert batch.calls[0]["payload"] == {"Parameters": {"a": "1"}}


def test_a_rule_on_another_bus_does_not_see_default_bus_events(
    dispatcher: Dispatcher, bus: EventBus, db: Database, clock: FakeClock, batch: RecordingTarget
) -> None:
    bus.put_rule({"Name": "r", "EventBusName": "orders", "EventPattern": CREATED}, [target()])
    on_default = publish(db, clock, s3_event())
    on_orders = publish(db, clock, s3_event(), bus="orders")
    assert dispatcher.tick() == 2
    assert [c["event"]["id"] for c in batch.calls] == [on_orders["id"]]
    assert matched(db, on_default) == []
    assert matched(db, on_orders) == ["r"]


# -- failures --------------------------------------------------------------------------------------


def test_a_target_error_is_recorded_as_failed_and_the_event_still_acked(
    db: Database, clock: FakeClock, bus: EventBus
) -> None:
    failing = RecordingTarget(fail=QuotaExceeded("no more than 0 jobs"))
    dispatcher = Dispatcher(db, clock, {"batch": failing})
    bus.put_rule({"Name": "r", "EventPattern": CREATED}, [target()])
    event = publish(db, clock, s3_event())
    assert dispatcher.tick() == 1
    [delivery] = deliveries(db, event)
    assert (delivery.status, delivery.detail) == ("FAILED", "ClientException: no more than 0 jobs")
    assert outbox.pending(db.conn, BUS_TOPIC) == 0
    assert dispatcher.tick() == 0 and len(failing.calls) == 1


def test_an_unexpected_exception_is_an_internal_error_and_the_bus_keeps_going(
    db: Database, clock: FakeClock, bus: EventBus
) -> None:
    crashing = RecordingTarget(fail=RuntimeError("disk on fire"))
    healthy = RecordingTarget()
    dispatcher = Dispatcher(db, clock, {"batch": crashing, "lambda": healthy})
    lambda_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f"
    bus.put_rule({"Name": "r", "EventPattern": CREATED}, [target("boom"), target("ok", lambda_arn)])
    first, second = publish(db, clock, s3_event("1")), publish(db, clock, s3_event("2"))
    assert dispatcher.tick() == 2
    for event in (first, second):
        assert [(d.target_id, d.status, d.detail) for d in deliveries(db, event)] == [
            ("boom", "FAILED", "InternalError: disk on fire"),
            ("ok", "DELIVERED", f"done #{1 if event is first else 2}"),
        ]
    assert outbox.pending(db.conn, BUS_TOPIC) == 0
    third = publish(db, clock, s3_event("3"))
    assert dispatcher.tick() == 1
    assert [d.status for d in deliveries(db, third)] == ["FAILED", "DELIVERED"]


def test_an_unknown_target_kind_fails_as_unsupported(
    dispatcher: Dispatcher, bus: EventBus, db: Database, clock: FakeClock, batch: RecordingTarget
) -> None:
    sqs = f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue"
    bus.put_rule({"Name": "r", "EventPattern": CREATED}, [target("q", sqs), target("b")])
    event = publish(db, clock, s3_event())
    dispatcher.tick()
    by_id = {d.target_id: d for d in deliveries(db, event)}
    unsupported, delivered = by_id["q"], by_id["b"]
    assert unsupported.status == "FAILED"
    assert unsupported.detail.startswith("UnsupportedTarget: ")
    assert sqs in unsupported.detail and "'sqs'" in unsupported.detail
    assert delivered.status == "DELIVERED" and len(batch.calls) == 1


def test_input_that_does_not_render_fails_the_delivery_only(
    dispatcher: Dispatcher, bus: EventBus, db: Database, clock: FakeClock, batch: RecordingTarget
) -> None:
    # An object placed inside a JSON string breaks the JSON: AWS does not deliver it.
    broken = {"InputPathsMap": {"b": "$.detail.bucket"}, "InputTemplate": '{"s": "<b>"}'}
    bus.put_rule(
        {"Name": "r", "EventPattern": CREATED},
        [target("bad", InputTransformer=broken), target("good")],
    )
    event = publish(db, clock, s3_event())
    dispatcher.tick()
    bad, good = deliveries(db, event)
    assert bad.status == "FAILED" and bad.detail.startswith("ValidationException: ")
    assert good.status == "DELIVERED"
    assert [c["target"]["Id"] for c in batch.calls] == ["good"]
    assert outbox.pending(db.conn, BUS_TOPIC) == 0


# -- rules change while running --------------------------------------------------------------------


def test_a_disabled_rule_does_not_match(
    dispatcher: Dispatcher, bus: EventBus, db: Database, clock: FakeClock, batch: RecordingTarget
) -> None:
    bus.put_rule({"Name": "r", "EventPattern": CREATED, "State": "DISABLED"}, [target()])
    event = publish(db, clock, s3_event())
    dispatcher.tick()
    assert batch.calls == [] and matched(db, event) == []


def test_rule_changes_apply_on_the_next_tick_without_a_restart(
    dispatcher: Dispatcher, bus: EventBus, db: Database, clock: FakeClock, batch: RecordingTarget
) -> None:
    bus.put_rule({"Name": "r", "EventPattern": {"source": ["aws.ec2"]}}, [target()])
    publish(db, clock, s3_event("1"))
    dispatcher.tick()
    assert batch.calls == []

    bus.put_rule({"Name": "r", "EventPattern": CREATED})  # same targets, new pattern
    publish(db, clock, s3_event("2"))
    dispatcher.tick()
    assert [c["payload"]["detail"]["object"]["key"] for c in batch.calls] == ["2"]

    bus.put_rule({"Name": "r", "EventPattern": CREATED, "State": "DISABLED"})
    bus.put_rule(
        {"Name": "new", "EventPattern": {"detail": {"object": {"key": [{"prefix": "3"}]}}}},
        [target("n")],
    )
    publish(db, clock, s3_event("3"))
    dispatcher.tick()
    assert [c["delivery_id"].split("/", 1)[1] for c in batch.calls] == ["r/t1", "new/n"]

    bus.put_rule({"Name": "r", "EventPattern": CREATED, "State": "ENABLED"})
    publish(db, clock, s3_event("4"))
    dispatcher.tick()
    assert [c["delivery_id"].split("/", 1)[1] for c in batch.calls][-1:] == ["r/t1"]


def test_a_new_target_on_an_existing_rule_is_picked_up(
    dispatcher: Dispatcher, bus: EventBus, db: Database, clock: FakeClock, batch: RecordingTarget
) -> None:
    bus.put_rule({"Name": "r", "EventPattern": CREATED}, [])
    publish(db, clock, s3_event())
    dispatcher.tick()
    bus.put_rule({"Name": "r", "EventPattern": CREATED}, [target("late")])
    publish(db, clock, s3_event())
    dispatcher.tick()
    assert [c["target"]["Id"] for c in batch.calls] == ["late"]


# -- at least once ---------------------------------------------------------------------------------


def test_recording_and_acking_are_one_transaction(
    dispatcher: Dispatcher,
    bus: EventBus,
    db: Database,
    clock: FakeClock,
    batch: RecordingTarget,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bus.put_rule({"Name": "r", "EventPattern": CREATED}, [target()])
    event = publish(db, clock, s3_event())
    real = store.record_delivery

    def crash(conn: Any, delivery: Delivery) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store, "record_delivery", crash)
    with pytest.raises(OSError):
        dispatcher.tick()
    # nothing of the event's outcome was kept, and it is not acknowledged
    assert matched(db, event) is None
    assert outbox.pending(db.conn, BUS_TOPIC) == 1

    monkeypatch.setattr(store, "record_delivery", real)
    assert dispatcher.tick() == 1  # handed back by the failed pass, not left leased
    # redelivered with the same delivery id, so an idempotent target acts once
    assert [c["delivery_id"] for c in batch.calls] == [f"{event['id']}/r/t1"] * 2
    assert [d.status for d in deliveries(db, event)] == ["DELIVERED"]
    assert outbox.pending(db.conn, BUS_TOPIC) == 0


def test_tick_honours_its_limit(
    dispatcher: Dispatcher, bus: EventBus, db: Database, clock: FakeClock, batch: RecordingTarget
) -> None:
    bus.put_rule({"Name": "r", "EventPattern": CREATED}, [target()])
    for i in range(3):
        publish(db, clock, s3_event(str(i)))
    assert dispatcher.tick(limit=2) == 2
    assert dispatcher.tick(limit=2) == 1
    assert [c["payload"]["detail"]["object"]["key"] for c in batch.calls] == ["0", "1", "2"]


# -- target kinds ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arn", "kind"),
    [
        (QUEUE_ARN, "batch"),
        ("update-RDS-data-from-S3", "batch"),
        (f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f", "lambda"),
        (f"arn:aws:sqs:us-east-1:{ACCOUNT}:q", "sqs"),
        ("arn:aws-cn:batch:cn-north-1:1:job-queue/q", "batch"),
        ("arn:aws", ""),
    ],
)
def test_kind_of(arn: str, kind: str) -> None:
    assert kind_of(arn) == kind
