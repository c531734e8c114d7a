"""The event-pattern corpus through boto3's TestEventPattern against a running server.

The same JSON cases the unit tests run through the Python API (tests/unit/events/
pattern_cases.json) must give the same answers over the wire. TestEventPattern requires
the envelope fields (id, account, source, time, region, resources, detail-type); cases
whose event lacks one get a filler value, unless the pattern tests that very field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from s3batch.cli.child import ChildServer

CORPUS = json.loads(
    (Path(__file__).parents[1] / "unit" / "events" / "pattern_cases.json").read_text()
)
ENVELOPE = {
    "id": "0",
    "account": "000000000000",
    "source": "corpus",
    "time": "2026-11-28T00:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail-type": "corpus",
}


def _pattern_keys(pattern: Any) -> set[str]:
    if not isinstance(pattern, dict):
        return set()
    keys = {k for k in pattern if k != "$or"}
    for branch in pattern.get("$or", []):
        keys |= _pattern_keys(branch)
    return keys


def _runnable(case: dict[str, Any]) -> bool:
    filled = set(ENVELOPE) - set(case["event"])
    return not (filled & _pattern_keys(case["pattern"]))


@pytest.fixture(scope="module")
def events(server: ChildServer):  # type: ignore[no-untyped-def]
    return boto3.client("events", **server.client_kwargs())


def test_match_cases_agree_over_the_wire(events) -> None:  # type: ignore[no-untyped-def]
    runnable = [c for c in CORPUS["cases"] if _runnable(c)]
    assert len(runnable) > 0.8 * len(CORPUS["cases"]), (
        "too few corpus cases can run through TestEventPattern"
    )
    wrong = []
    for case in runnable:
        event = {**ENVELOPE, **case["event"]}
        result = events.test_event_pattern(
            EventPattern=json.dumps(case["pattern"]), Event=json.dumps(event)
        )
        if result["Result"] is not case["matches"]:
            wrong.append(case["name"])
    assert wrong == []


def test_invalid_patterns_are_refused_over_the_wire(events) -> None:  # type: ignore[no-untyped-def]
    accepted = []
    for case in CORPUS["invalid"]:
        text = case.get("pattern_text") or json.dumps(case["pattern"])
        try:
            events.test_event_pattern(EventPattern=text, Event=json.dumps(ENVELOPE))
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            assert code in ("InvalidEventPatternException", "ValidationException"), (
                case["name"],
                code,
            )
            if code == "InvalidEventPatternException":
                assert case["error_contains"] in exc.response["Error"]["Message"], case["name"]
            continue
        accepted.append(case["name"])
    assert accepted == []
