"""The CloudWatch Logs adapter in process: every answer fits botocore's ``logs`` model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import botocore.loaders
import pytest

from s3batch.api.auth import Authenticator
from s3batch.api.jsonproto import JsonObject
from s3batch.api.logs import LogsProtocol, group_name
from s3batch.clock import FakeClock, SystemClock
from s3batch.credentials import Credentials
from s3batch.logs.errors import InvalidParameterException
from s3batch.logs.service import Logs
from s3batch.state.db import Database

MODEL = botocore.loaders.Loader().load_service_model("logs", "service-2")
T0 = 1_767_225_600_000


@pytest.fixture
def protocol(db: Database) -> LogsProtocol:
    logs = Logs(db, FakeClock(datetime(2026, 1, 1, tzinfo=UTC)), "us-east-1", "123456789012")
    auth = Authenticator([Credentials("AKIAIOSFODNN7EXAMPLE", "secret")], SystemClock())
    return LogsProtocol(logs, auth)


def _check_shape(value: Any, shape_name: str) -> None:
    """Every member present is in the model, with the model's JSON type."""
    shape = MODEL["shapes"][shape_name]
    kind = shape["type"]
    if kind == "structure":
        assert isinstance(value, dict), shape_name
        assert set(value) <= set(shape["members"]), (shape_name, set(value) - set(shape["members"]))
        for key, item in value.items():
            _check_shape(item, shape["members"][key]["shape"])
    elif kind == "list":
        assert isinstance(value, list), shape_name
        for item in value:
            _check_shape(item, shape["member"]["shape"])
    else:
        types = {"string": str, "long": int, "integer": int, "timestamp": int, "boolean": bool}
        assert isinstance(value, types[kind]), (shape_name, value)


def _call(protocol: LogsProtocol, operation: str, params: JsonObject) -> JsonObject:
    out = protocol.protocol.handlers[operation](params)
    output = MODEL["operations"][operation].get("output")
    if output:
        _check_shape(out, output["shape"])
    else:
        assert out == {}
    return out


def test_every_operation_answers_in_the_models_shapes(protocol: LogsProtocol) -> None:
    _call(protocol, "CreateLogGroup", {"logGroupName": "/g"})
    _call(protocol, "CreateLogStream", {"logGroupName": "/g", "logStreamName": "s"})
    _call(protocol, "CreateLogStream", {"logGroupName": "/g", "logStreamName": "empty"})
    events = [{"timestamp": T0 + i, "message": f"ERROR {i}"} for i in range(3)]
    _call(
        protocol, "PutLogEvents", {"logGroupName": "/g", "logStreamName": "s", "logEvents": events}
    )
    groups = _call(protocol, "DescribeLogGroups", {"limit": 1})
    assert groups["logGroups"][0]["storedBytes"] == 21 and "nextToken" not in groups
    streams = _call(protocol, "DescribeLogStreams", {"logGroupName": "/g", "limit": 1})
    assert streams["logStreams"][0]["logStreamName"] == "empty" and streams["nextToken"]
    page = _call(protocol, "GetLogEvents", {"logGroupName": "/g", "logStreamName": "s", "limit": 2})
    assert [e["message"] for e in page["events"]] == ["ERROR 1", "ERROR 2"]
    found = _call(protocol, "FilterLogEvents", {"logGroupName": "/g", "filterPattern": "ERROR"})
    assert len(found["events"]) == 3 and found["searchedLogStreams"] == []


def test_registered_operations_exist_in_the_model(protocol: LogsProtocol) -> None:
    assert set(protocol.protocol.handlers) <= set(MODEL["operations"])
    assert protocol.protocol.target_prefix == MODEL["metadata"]["targetPrefix"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"logGroupName": "/aws/batch/job"}, "/aws/batch/job"),
        ({"logGroupIdentifier": "/aws/batch/job"}, "/aws/batch/job"),
        (
            {"logGroupIdentifier": "arn:aws:logs:us-east-1:1:log-group:/aws/batch/job:*"},
            "/aws/batch/job",
        ),
        ({"logGroupIdentifier": "arn:aws:logs:us-east-1:1:log-group:/x"}, "/x"),
    ],
)
def test_group_name_or_identifier(params: JsonObject, expected: str) -> None:
    assert group_name(params) == expected


@pytest.mark.parametrize("params", [{}, {"logGroupName": "/a", "logGroupIdentifier": "/a"}])
def test_exactly_one_group_reference(params: JsonObject) -> None:
    with pytest.raises(InvalidParameterException):
        group_name(params)


def test_unsupported_members_are_refused(protocol: LogsProtocol) -> None:
    with pytest.raises(InvalidParameterException, match="logGroupNamePattern"):
        _call(protocol, "DescribeLogGroups", {"logGroupNamePattern": "job"})
    with pytest.raises(InvalidParameterException):
        _call(
            protocol,
            "PutLogEvents",
            {"logGroupName": "/g", "logStreamName": "s", "logEvents": ["x"]},
        )
