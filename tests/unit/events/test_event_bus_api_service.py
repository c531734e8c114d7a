"""EventBus as the EventBridge API's service: buses, rule states, targets, PutEvents, TestEventPattern."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from s3batch.clock import FakeClock
from s3batch.events import service as events_service
from s3batch.events.errors import InvalidEventPatternException, ValidationException
from s3batch.events.publish import MAX_REQUEST_BYTES, TIME_BYTES, entry_size
from s3batch.events.service import (
    EventBus,
    LimitExceededException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    bus_name,
)
from s3batch.events.store import BUS_TOPIC
from s3batch.events.tagging import TaggedResourceNotFound
from s3batch.state import outbox
from s3batch.state.db import Database

ACCOUNT = "123456789012"
PATTERN = {"source": ["my.app"]}
EVENT = {
    "id": "1",
    "account": ACCOUNT,
    "source": "my.app",
    "time": "2026-01-01T00:00:00Z",
    "region": "us-east-1",
    "detail-type": "x",
    "detail": {"n": 5},
}


@pytest.fixture
def bus(db: Database) -> EventBus:
    return EventBus(db, FakeClock(datetime(2026, 1, 1, tzinfo=UTC)), "us-east-1", ACCOUNT)


def test_bus_names_come_as_names_or_arns() -> None:
    assert bus_name(None) == bus_name("") == "default"
    assert bus_name(f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/orders") == "orders"


def test_custom_buses(bus: EventBus) -> None:
    created = bus.create_bus("orders", "d")
    assert created.arn == f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/orders"
    with pytest.raises(ResourceAlreadyExistsException):
        bus.create_bus("orders")
    with pytest.raises(ResourceAlreadyExistsException):
        bus.create_bus("default")
    assert [b.name for b in bus.buses()] == ["default", "orders"]
    assert [b.name for b in bus.buses("ord")] == ["orders"]
    bus.put_rule({"Name": "r", "EventBusName": "orders", "EventPattern": PATTERN})
    bus.delete_bus(created.arn)
    assert bus.rules("orders") == []
    with pytest.raises(ResourceNotFoundException):
        bus.bus("orders")
    with pytest.raises(ValidationException):
        bus.delete_bus("default")


def test_rules_need_a_pattern_and_a_known_state(bus: EventBus) -> None:
    with pytest.raises(ValidationException, match="EventPattern or ScheduleExpression"):
        bus.put_rule({"Name": "r"})
    with pytest.raises(ValidationException, match="ScheduleExpression is not valid"):
        bus.put_rule({"Name": "r", "ScheduleExpression": "rate(1 minutes)"})
    with pytest.raises(ValidationException, match="only on the default event bus"):
        bus.create_bus("custom")
        bus.put_rule(
            {"Name": "r", "ScheduleExpression": "rate(1 minute)", "EventBusName": "custom"}
        )
    with pytest.raises(ValidationException, match="State"):
        bus.put_rule({"Name": "r", "EventPattern": PATTERN, "State": "ON"})


def test_enable_disable_and_delete(bus: EventBus) -> None:
    bus.put_rule({"Name": "r", "EventPattern": PATTERN}, [{"Id": "t", "Arn": "q"}])
    assert bus.set_state("r", None, "DISABLED").enabled is False
    with pytest.raises(ValidationException, match="has targets"):
        bus.delete_rule("r")
    bus.delete_rule("r", force=True)
    bus.delete_rule("r")  # gone already: fine, as on AWS
    with pytest.raises(
        ResourceNotFoundException, match="Rule r does not exist on EventBus default"
    ):
        bus.set_state("r", None, "ENABLED")


def test_put_targets_replaces_by_id_and_reports_unsupported_kinds(bus: EventBus) -> None:
    bus.put_rule({"Name": "r", "EventPattern": PATTERN})
    failed = bus.put_targets(
        "r",
        None,
        [
            {"Id": "a", "Arn": "q"},
            {"Id": "b", "Arn": "arn:aws:lambda:us-east-1:1:function:f"},
            {"Id": "c", "Arn": "https://example.invalid/hook"},
        ],
    )
    assert [f["TargetId"] for f in failed] == ["b"]
    bus.put_targets("r", None, [{"Id": "a", "Arn": "other"}])
    assert [(t["Id"], t["Arn"]) for t in bus.rule("r").targets] == [
        ("a", "other"),
        ("c", "https://example.invalid/hook"),
    ]
    with pytest.raises(ValidationException, match="MaximumRetryAttempts"):
        bus.put_targets(
            "r", None, [{"Id": "d", "Arn": "q", "RetryPolicy": {"MaximumRetryAttempts": 500}}]
        )
    with pytest.raises(LimitExceededException):
        bus.put_targets("r", None, [{"Id": f"x{i}", "Arn": "q"} for i in range(4)])
    bus.remove_targets("r", None, ["a", "nope"])
    assert [t["Id"] for t in bus.rule("r").targets] == ["c"]


def test_put_events_go_through_the_bus_outbox(bus: EventBus, db: Database) -> None:
    woken = []
    bus.after_write = lambda: woken.append(1)
    results = bus.put_events(
        [
            {
                "Source": "my.app",
                "DetailType": "x",
                "Detail": '{"n": 1}',
                "Resources": ["arn:x"],
                "Time": 1767225600,
            },
            {"Source": "my.app", "DetailType": "x"},
            {"Source": "my.app", "DetailType": "x", "Detail": "not json"},
        ]
    )
    assert "EventId" in results[0]
    assert results[1] == {
        "ErrorCode": "InvalidArgument",
        "ErrorMessage": "Parameter Detail is not valid. Reason: Detail is a required argument.",
    }
    assert results[2] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert woken == [1]
    with db.transaction() as conn:
        [item] = outbox.claim(conn, BUS_TOPIC, 10, datetime(2026, 1, 1, tzinfo=UTC))
    event = item.payload["event"]
    assert item.payload["bus"] == "default"
    assert (event["id"], event["time"], event["resources"]) == (
        results[0]["EventId"],
        "2026-01-01T00:00:00Z",
        ["arn:x"],
    )
    assert {
        k: event[k] for k in ("version", "source", "detail-type", "account", "region", "detail")
    } == {
        "version": "0",
        "source": "my.app",
        "detail-type": "x",
        "account": ACCOUNT,
        "region": "us-east-1",
        "detail": {"n": 1},
    }


def test_entry_size_is_counted_as_eventbridge_documents() -> None:
    entry = {"Source": "é", "DetailType": "ab", "Detail": "{}", "Resources": ["r1", "r2"]}
    assert entry_size(entry) == 2 + 2 + 2 + 4
    assert entry_size({**entry, "Time": 1767225600}) == 10 + TIME_BYTES
    assert entry_size({"EventBusName": "x" * 100}) == 0


def test_put_events_whose_entries_are_too_large_together_fail_as_a_whole(
    bus: EventBus, db: Database
) -> None:
    def entry(size: int) -> dict[str, str]:
        return {"Source": "s", "DetailType": "d", "Detail": json.dumps({"p": "x" * (size - 12)})}

    half = MAX_REQUEST_BYTES // 2
    assert all("EventId" in r for r in bus.put_events([entry(half), entry(half)]))
    with pytest.raises(ValidationException, match="Total size of the entries"):
        bus.put_events([entry(half), entry(half), entry(10)])
    with db.transaction() as conn:
        assert len(outbox.claim(conn, BUS_TOPIC, 10, datetime(2026, 1, 1, tzinfo=UTC))) == 2


def test_a_detail_nested_too_deep_to_read_is_malformed(bus: EventBus) -> None:
    deep = '{"a": ' * 5000 + "1" + "}" * 5000
    [result] = bus.put_events([{"Source": "s", "DetailType": "d", "Detail": deep}])
    assert result["ErrorCode"] == "MalformedDetail"


def test_test_event_pattern_shares_the_parser() -> None:
    check = events_service.test_event_pattern
    assert check(json.dumps({"detail": {"n": [{"numeric": [">", 4]}]}}), json.dumps(EVENT)) is True
    assert check(PATTERN, {**EVENT, "source": "other"}) is False
    with pytest.raises(InvalidEventPatternException):
        check("{}", json.dumps(EVENT))
    for bad in ("[]", "nope", json.dumps({k: v for k, v in EVENT.items() if k != "account"})):
        with pytest.raises(ValidationException, match="Parameter Event is not valid."):
            check(PATTERN, bad)
    assert check(PATTERN, {k: v for k, v in EVENT.items()}) is True


def test_a_scheduled_rule_needs_no_pattern_and_keeps_its_schedule(bus: EventBus) -> None:
    rule = bus.put_rule({"Name": "s", "ScheduleExpression": "cron(0 12 * * ? *)"})
    assert (rule.pattern, rule.schedule, rule.matches_events) == ("", "cron(0 12 * * ? *)", False)
    bus.put_targets("s", None, [{"Id": "t", "Arn": "q"}])
    assert bus.set_state("s", None, "DISABLED").schedule == "cron(0 12 * * ? *)"
    assert bus.rule("s").targets[0]["Id"] == "t" and bus.rule("s").schedule is not None


def test_rule_names_by_target(bus: EventBus) -> None:
    bus.put_rule({"Name": "a", "EventPattern": PATTERN}, [{"Id": "1", "Arn": "q1"}])
    bus.put_rule(
        {"Name": "b", "EventPattern": PATTERN}, [{"Id": "1", "Arn": "q2"}, {"Id": "2", "Arn": "q1"}]
    )
    bus.put_rule({"Name": "c", "EventPattern": PATTERN}, [{"Id": "1", "Arn": "q2"}])
    assert bus.rule_names_by_target("q1") == ["a", "b"]
    assert bus.rule_names_by_target("nope") == []


def test_tags_of_rules_and_buses(bus: EventBus) -> None:
    rule = bus.put_rule(
        {"Name": "r", "EventPattern": PATTERN, "Tags": [{"Key": "team", "Value": "a"}]}
    )
    custom = bus.create_bus("c", tags=[{"Key": "env", "Value": "dev"}])
    tagging = bus.tagging
    tagging.tag(rule.arn, [{"Key": "team", "Value": "b"}, {"Key": "cost", "Value": ""}])
    assert tagging.tags(rule.arn) == [{"Key": "cost", "Value": ""}, {"Key": "team", "Value": "b"}]
    tagging.untag(rule.arn, ["cost", "absent"])
    assert tagging.tags(rule.arn) == [{"Key": "team", "Value": "b"}]
    assert tagging.tags(custom.arn) == [{"Key": "env", "Value": "dev"}]
    tagging.tag(bus.bus_arn("default"), [{"Key": "k", "Value": "v"}])
    assert tagging.tags(bus.bus_arn("default")) == [{"Key": "k", "Value": "v"}]
    with pytest.raises(TaggedResourceNotFound):
        tagging.tags(bus.rule_arn("default", "missing"))
    with pytest.raises(ValidationException, match="aws: prefix"):
        tagging.tag(rule.arn, [{"Key": "aws:x", "Value": "v"}])
    with pytest.raises(ValidationException, match="at most 50"):
        tagging.tag(rule.arn, [{"Key": f"k{i}", "Value": ""} for i in range(50)])
    bus.delete_rule("r")
    bus.put_rule({"Name": "r", "EventPattern": PATTERN})
    assert tagging.tags(rule.arn) == []  # a deleted rule's tags went with it
    bus.delete_bus("c")
    with pytest.raises(TaggedResourceNotFound):
        tagging.tags(custom.arn)
