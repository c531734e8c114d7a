"""EventBus.put_rule: pattern validation, rule ARNs, buses, targets kept across updates."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from s3batch.clock import FakeClock
from s3batch.events import store
from s3batch.events.errors import InvalidEventPatternException, InvalidTargetInput
from s3batch.events.service import DEFAULT_BUS, EventBus
from s3batch.state.db import Database

ACCOUNT = "123456789012"
PATTERN = {"source": ["aws.s3"], "detail-type": ["Object Created"]}
TARGET = {"Id": "t1", "Arn": "q", "BatchParameters": {"JobDefinition": "d", "JobName": "j"}}


@pytest.fixture
def bus(db: Database) -> EventBus:
    return EventBus(db, FakeClock(datetime(2026, 1, 1, tzinfo=UTC)), "eu-west-1", ACCOUNT)


def version(db: Database) -> int:
    return store.rules_version(db.conn)


def test_a_rule_on_the_default_bus(bus: EventBus) -> None:
    rule = bus.put_rule(
        {"Name": "r", "EventPattern": json.dumps(PATTERN), "Description": "d"}, [TARGET]
    )
    assert rule.bus == DEFAULT_BUS == "default"
    assert rule.arn == f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/r"
    assert (rule.state, rule.enabled, rule.description) == ("ENABLED", True, "d")
    assert rule.targets == (TARGET,)
    assert bus.rules() == [rule]
    assert bus.rules("default") == [rule]


def test_naming_the_default_bus_is_the_same_as_omitting_it(bus: EventBus) -> None:
    rule = bus.put_rule({"Name": "r", "EventBusName": "default", "EventPattern": PATTERN})
    assert rule.arn == f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/r"
    assert bus.put_rule({"Name": "r", "EventPattern": PATTERN}) == rule
    assert len(bus.rules()) == 1


def test_a_rule_on_a_custom_bus_has_the_bus_in_its_arn(bus: EventBus) -> None:
    rule = bus.put_rule({"Name": "r", "EventBusName": "orders", "EventPattern": PATTERN})
    assert rule.bus == "orders"
    assert rule.arn == f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/orders/r"
    assert bus.rule_arn("orders", "r") == rule.arn
    assert bus.rules("orders") == [rule]
    assert bus.rules("default") == []


def test_the_same_name_on_two_buses_is_two_rules(bus: EventBus) -> None:
    bus.put_rule({"Name": "r", "EventPattern": PATTERN})
    bus.put_rule({"Name": "r", "EventBusName": "orders", "EventPattern": PATTERN})
    assert [(r.bus, r.name) for r in bus.rules()] == [("default", "r"), ("orders", "r")]


def test_a_pattern_given_as_json_is_stored_as_text(bus: EventBus) -> None:
    text = '{"source": ["aws.s3"]}'
    assert bus.put_rule({"Name": "a", "EventPattern": text}).pattern == text
    stored = bus.put_rule({"Name": "b", "EventPattern": PATTERN}).pattern
    assert json.loads(stored) == PATTERN
    assert [json.loads(r.pattern) for r in bus.rules()] == [{"source": ["aws.s3"]}, PATTERN]


@pytest.mark.parametrize(
    "pattern",
    [
        "not json",
        '{"source": "aws.s3"}',  # a leaf must be an array
        "[1, 2]",  # not an object
        {"detail": {"size": [{"numeric": [">", "x"]}]}},
        {"source": [{"prefix": 5}]},
    ],
    ids=["not-json", "leaf-not-array", "not-object", "bad-numeric", "bad-prefix"],
)
def test_an_invalid_pattern_is_refused_and_nothing_is_stored(
    bus: EventBus, db: Database, pattern: object
) -> None:
    before = version(db)
    with pytest.raises(InvalidEventPatternException) as caught:
        bus.put_rule({"Name": "r", "EventPattern": pattern}, [TARGET])
    assert caught.value.code == "InvalidEventPatternException"
    assert bus.rules() == []
    assert version(db) == before


def test_an_invalid_update_leaves_the_existing_rule_as_it_was(bus: EventBus, db: Database) -> None:
    rule = bus.put_rule({"Name": "r", "EventPattern": PATTERN}, [TARGET])
    before = version(db)
    with pytest.raises(InvalidEventPatternException):
        bus.put_rule({"Name": "r", "EventPattern": '{"source": "x"}'}, [])
    assert bus.rules() == [rule]
    assert version(db) == before


def test_targets_are_kept_when_the_rule_is_put_again_without_targets(bus: EventBus) -> None:
    bus.put_rule({"Name": "r", "EventPattern": PATTERN}, [TARGET])
    updated = bus.put_rule(
        {"Name": "r", "EventPattern": {"source": ["aws.s3"]}, "State": "DISABLED"}
    )
    assert updated.targets == (TARGET,)
    assert (updated.state, updated.enabled) == ("DISABLED", False)
    assert json.loads(updated.pattern) == {"source": ["aws.s3"]}
    assert bus.rules() == [updated]


def test_targets_given_again_replace_the_old_ones(bus: EventBus) -> None:
    other = {"Id": "t2", "Arn": "q2"}
    bus.put_rule({"Name": "r", "EventPattern": PATTERN}, [TARGET])
    assert bus.put_rule({"Name": "r", "EventPattern": PATTERN}, [other]).targets == (other,)
    assert bus.put_rule({"Name": "r", "EventPattern": PATTERN}, []).targets == ()
    assert bus.rules()[0].targets == ()


def test_a_new_rule_without_targets_has_none(bus: EventBus) -> None:
    assert bus.put_rule({"Name": "r", "EventPattern": PATTERN}).targets == ()


def test_every_rule_change_bumps_the_rules_version(bus: EventBus, db: Database) -> None:
    start = version(db)
    bus.put_rule({"Name": "a", "EventPattern": PATTERN})
    bus.put_rule({"Name": "a", "EventPattern": PATTERN, "State": "DISABLED"})
    bus.put_rule({"Name": "b", "EventBusName": "orders", "EventPattern": PATTERN})
    assert version(db) == start + 3


def test_rules_survive_a_new_service_over_the_same_database(bus: EventBus, db: Database) -> None:
    rule = bus.put_rule({"Name": "r", "EventPattern": PATTERN}, [TARGET])
    again = EventBus(db, bus.clock, "eu-west-1", ACCOUNT)
    assert again.rules() == [rule]


@pytest.mark.parametrize(
    "settings",
    [
        {
            "InputTransformer": {
                "InputPathsMap": {"bucket": "$.detail.b"},
                "InputTemplate": '{"b": <bukcet>}',
            }
        },
        {"Input": "not json"},
        {"Input": "{}", "InputPath": "$.detail"},
    ],
    ids=["undefined-placeholder", "input-not-json", "two-input-kinds"],
)
def test_a_target_with_invalid_input_settings_is_refused_like_put_targets(
    bus: EventBus, db: Database, settings: dict[str, object]
) -> None:
    # AWS's PutTargets refuses these with ValidationException; accepting them here means every
    # delivery of the rule fails later instead.
    before = version(db)
    with pytest.raises(InvalidTargetInput):
        bus.put_rule({"Name": "r", "EventPattern": PATTERN}, [{**TARGET, **settings}])
    assert bus.rules() == []
    assert version(db) == before
