"""Retry decisions: attempts left and evaluateOnExit rules."""

from __future__ import annotations

import pytest

from s3batch.batch.models import EvaluateOnExit, RetryStrategy
from s3batch.batch.retry import glob_match, should_retry


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        (None, "x", True),
        ("*", None, True),
        ("1", None, False),
        ("137", "137", True),
        ("13*", "137", True),
        ("13", "137", False),
        ("Host EC2*", "Host EC2 (instance i-1) terminated.", True),
        ("host ec2*", "Host EC2 (instance i-1) terminated.", False),
    ],
)
def test_glob_match(pattern: str | None, value: str | None, expected: bool) -> None:
    assert glob_match(pattern, value) is expected


def test_retries_while_attempts_remain() -> None:
    strategy = RetryStrategy(attempts=3)
    assert [should_retry(strategy, done, 1, None, None) for done in (1, 2, 3)] == [
        True,
        True,
        False,
    ]


def test_first_matching_rule_decides_and_no_match_retries() -> None:
    strategy = RetryStrategy(
        attempts=5,
        evaluate_on_exit=(
            EvaluateOnExit("EXIT", on_exit_code="2"),
            EvaluateOnExit("RETRY", on_reason="CannotStart*"),
            EvaluateOnExit("EXIT", on_reason="*"),
        ),
    )
    assert not should_retry(strategy, 1, 2, None, None)
    assert should_retry(strategy, 1, None, "CannotStartContainerError: x", None)
    assert not should_retry(strategy, 1, 1, "anything", None)
    assert should_retry(
        RetryStrategy(2, (EvaluateOnExit("EXIT", on_exit_code="9"),)), 1, 1, None, None
    )
