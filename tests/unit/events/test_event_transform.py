"""Target input: Input, InputPath and InputTransformer applied to events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from s3batch.events.errors import InvalidTargetInput, TargetInputError
from s3batch.events.transform import apply_target_input, parse_path, select, validate_target_input

REFERENCE = Path("/work/shared/reference/events/cloudtrail_putobject_via_eventbridge.json")
RULE_ARN = "arn:aws:events:us-east-1:111122223333:rule/s3-to-batch"
INGESTED = "2026-11-28T04:00:01Z"

EC2 = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {
        "instance-id": "i-0123456789",
        "state": "RUNNING",
        "count": 3,
        "ok": True,
        "gone": None,
        "tags": ["a", "b"],
        "owner": {"id": "u1", "team": "data"},
    },
}
PATHS = {
    "instance": "$.detail.instance-id",
    "state": "$.detail.state",
    "count": "$.detail.count",
    "ok": "$.detail.ok",
    "gone": "$.detail.gone",
    "tags": "$.detail.tags",
    "owner": "$.detail.owner",
    "missing": "$.detail.nothing.here",
}


def transform(template: str, event: dict[str, Any] = EC2, paths: dict[str, str] = PATHS) -> Any:
    target = {
        "Id": "t1",
        "Arn": "arn:x",
        "InputTransformer": {"InputPathsMap": paths, "InputTemplate": template},
    }
    return apply_target_input(event, target, "s3-to-batch", RULE_ARN, INGESTED)


@pytest.fixture
def putobject() -> dict[str, Any]:
    if not REFERENCE.is_file():
        pytest.skip("reference events not present")
    return json.loads(REFERENCE.read_text())


BATCH_PATHS = {
    "bucket": "$.detail.requestParameters.bucketName",
    "key": "$.detail.requestParameters.key",
}


def test_batch_parameters_from_cloudtrail_putobject(putobject: dict[str, Any]) -> None:
    result = transform('{"Parameters": {"bucket": <bucket>, "key": <key>}}', putobject, BATCH_PATHS)
    assert result == {
        "Parameters": {"bucket": "demo-bucket", "key": "incoming/Q3 report+final (1).csv"}
    }


def test_keys_with_quotes_and_backslashes_are_escaped(putobject: dict[str, Any]) -> None:
    putobject["detail"]["requestParameters"]["key"] = 'in/a "quoted" \\ key\n.csv'
    template = '{"Parameters": {"key": <key>}, "ContainerOverrides": {"Command": ["load", "s3://<bucket>/<key>"]}}'
    result = transform(template, putobject, BATCH_PATHS)
    assert result["Parameters"]["key"] == 'in/a "quoted" \\ key\n.csv'
    assert (
        result["ContainerOverrides"]["Command"][1] == 's3://demo-bucket/in/a "quoted" \\ key\n.csv'
    )


def test_json_template_slots_take_json_values() -> None:
    result = transform(
        '{"i": <instance>, "n": <count>, "b": <ok>, "z": <gone>, "t": <tags>, "o": <owner>, "m": <missing>}'
    )
    assert result == {
        "i": "i-0123456789",
        "n": 3,
        "b": True,
        "z": None,
        "t": ["a", "b"],
        "o": {"id": "u1", "team": "data"},
        "m": "",
    }


def test_json_template_as_a_list_with_static_values() -> None:
    assert transform('[9, <state>, true, "<instance>"]') == [9, "RUNNING", True, "i-0123456789"]


def test_placeholders_inside_json_strings_are_text() -> None:
    template = '{"s": "instance \\"<instance>\\" is in <state>", "n": "<count> of <ok>", "m": "[<missing>]"}'
    assert transform(template) == {
        "s": 'instance "i-0123456789" is in RUNNING',
        "n": "3 of true",
        "m": "[]",
    }


def test_object_inside_a_json_string_is_not_delivered() -> None:
    with pytest.raises(TargetInputError, match="did not produce valid JSON"):
        transform('{"o": "<owner>"}')


def test_string_template_is_filled_without_escaping() -> None:
    assert transform('"instance <instance> is in <state>"') == "instance i-0123456789 is in RUNNING"
    assert (
        transform('"owner <owner> tags <tags> ok <ok> n <count>"')
        == "owner {id:u1,team:data} tags [a,b] ok true n 3"
    )
    assert transform('"[<missing>]"') == "[]"


def test_string_template_with_escaped_quotes() -> None:
    assert (
        transform('"instance \\"<instance>\\" is in <state>"')
        == 'instance "i-0123456789" is in RUNNING'
    )


def test_text_that_is_not_json_is_returned_as_text() -> None:
    assert transform("instance <instance> is <state>") == "instance i-0123456789 is RUNNING"
    event = json.loads(json.dumps(EC2))
    event["detail"]["state"] = 'say "hi"'
    assert transform('"state: <state>"', event) == '"state: say "hi""'


def test_predefined_variables() -> None:
    result = transform(
        '{"arn": <aws.events.rule-arn>, "name": <aws.events.rule-name>, "at": <aws.events.event.ingestion-time>,'
        ' "event": <aws.events.event>, "full": <aws.events.event.json>, "text": "<aws.events.rule-name> fired"}'
    )
    assert (
        result["arn"] == RULE_ARN and result["name"] == "s3-to-batch" and result["at"] == INGESTED
    )
    assert result["event"] == {
        "id": EC2["id"],
        "account": EC2["account"],
        "detailType": EC2["detail-type"],
        "time": EC2["time"],
        "source": EC2["source"],
        "region": EC2["region"],
        "resources": EC2["resources"],
        "version": "0",
    }
    assert result["full"] == EC2
    assert result["text"] == "s3-to-batch fired"
    assert transform('"<aws.events.rule-name> triggered"') == "s3-to-batch triggered"


@pytest.mark.parametrize("template", ['{"e": "<aws.events.event>"}', '"<aws.events.event.json>"'])
def test_event_variables_only_as_json_values(template: str) -> None:
    with pytest.raises(InvalidTargetInput, match="may only be the value of a JSON field"):
        transform(template)


def test_undefined_placeholder_is_rejected() -> None:
    with pytest.raises(InvalidTargetInput) as caught:
        transform('{"x": <notdefinedkey>}')
    assert (
        caught.value.message
        == "InputTemplate for target t1 contains invalid placeholder notdefinedkey."
    )
    assert caught.value.code == "ValidationException"


def test_angle_brackets_that_are_not_placeholders_stay() -> None:
    assert transform('"a < b > c <x.y>"') == "a < b > c <x.y>"


def test_constant_input() -> None:
    target = {"Id": "t1", "Input": '{"Parameters": {"bucket": "b"}}'}
    assert apply_target_input(EC2, target, "r", RULE_ARN, INGESTED) == {
        "Parameters": {"bucket": "b"}
    }


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", EC2),
        ("$.detail.state", "RUNNING"),
        ("$.resources[0]", EC2["resources"][0]),
        ("$['detail-type']", EC2["detail-type"]),
        ("$.detail.owner", EC2["detail"]["owner"]),
        ("$.detail.nothing", None),
        ("$.resources[5]", None),
        ("$.detail.tags[*]", ["a", "b"]),
        ("$.detail.owner.*", ["u1", "data"]),
    ],
)
def test_input_path(path: str, expected: Any) -> None:
    assert (
        apply_target_input(EC2, {"Id": "t1", "InputPath": path}, "r", RULE_ARN, INGESTED)
        == expected
    )


def test_no_input_settings_delivers_the_event() -> None:
    assert apply_target_input(EC2, {"Id": "t1", "Arn": "arn:x"}, "r", RULE_ARN, INGESTED) is EC2


def test_wildcard_path_collects_matches_from_array_elements(putobject: dict[str, Any]) -> None:
    assert select(parse_path("$.detail.resources[*].ARN"), putobject) == (
        True,
        ["arn:aws:s3:::demo-bucket/incoming/Q3 report+final (1).csv", "arn:aws:s3:::demo-bucket"],
    )


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            {"Id": "t1", "Input": "{}", "InputPath": "$"},
            "Only one of Input, InputPath, or InputTransformer must be provided for target t1.",
        ),
        ({"Id": "t1", "Input": "{not json"}, "Input for target t1 is not valid JSON"),
        ({"Id": "t1", "InputPath": "detail.state"}, "InputPath for target t1 is not valid"),
        ({"Id": "t1", "InputPath": "$.a..b"}, "InputPath for target t1 is not valid"),
        ({"Id": "t1", "InputPath": "$." + "a" * 300}, "InputPath for target t1 is not valid"),
        (
            {"Id": "t1", "InputTransformer": {"InputPathsMap": {}}},
            "InputTemplate for target t1 must be 1 to 8192 characters.",
        ),
        (
            {"Id": "t1", "InputTransformer": {"InputTemplate": "x" * 8193}},
            "InputTemplate for target t1 must be 1 to 8192 characters.",
        ),
        (
            {
                "Id": "t1",
                "InputTransformer": {
                    "InputPathsMap": {f"v{i}": "$" for i in range(101)},
                    "InputTemplate": "x",
                },
            },
            "at most 100 variables",
        ),
        (
            {"Id": "t1", "InputTransformer": {"InputPathsMap": {"a.b": "$"}, "InputTemplate": "x"}},
            "invalid variable name 'a.b'",
        ),
        (
            {
                "Id": "t1",
                "InputTransformer": {"InputPathsMap": {"a": "$[x]"}, "InputTemplate": "x"},
            },
            "InputPathsMap['a'] for target t1 is not valid",
        ),
        (
            {"Id": "t1", "InputTransformer": "nope"},
            "InputTransformer for target t1 must be an object.",
        ),
    ],
)
def test_invalid_target_input_settings(target: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidTargetInput) as caught:
        validate_target_input(target)
    assert message in caught.value.message
    with pytest.raises(InvalidTargetInput):
        apply_target_input(EC2, target, "r", RULE_ARN, INGESTED)


def test_valid_settings_pass_validation() -> None:
    validate_target_input(
        {
            "Id": "t1",
            "InputTransformer": {"InputPathsMap": BATCH_PATHS, "InputTemplate": '{"a": <key>}'},
        }
    )
    validate_target_input({"Id": "t1", "InputPath": "$.detail['x-y'][2].z"})
    validate_target_input({"Id": "t1"})
