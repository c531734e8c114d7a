"""The wildcard complexity measure (event-ruler's MachineComplexityEvaluator) and its limit."""

from __future__ import annotations

import pytest

from s3batch.events.complexity import MAX_COMPLEXITY, STAR, complexity, most_prefixes, tokens
from s3batch.events.errors import InvalidEventPatternException
from s3batch.events.patterns import parse


def raw(*wildcards: str) -> int:
    """The measure on unquoted values, as event-ruler's unit tests state it."""
    return most_prefixes([tuple(STAR if c == "*" else ord(c) for c in w) for w in wildcards])


# Expected values from aws/event-ruler's MachineComplexityEvaluatorTest (each names the input).
@pytest.mark.parametrize(
    ("wildcards", "expected"),
    [
        (["*"], 1),
        (["*ab"], 2),
        (["*aa"], 3),
        (["a*bbb"], 4),
        (["*ab*ad"], 4),
        (["a*b*bb"], 5),
        (["a*b*cd"], 3),
        (["*", "ab*c"], 3),
        (["*abc", "*abcde"], 4),
        (["a*aaa", "aa*aa"], 7),
        (["abc*", "abcde*"], 3),
        (["ab*cd", "ab*wx", "ab*yz"], 6),
        (["*ab*b*b*"], 7),
        (["*a*a*a*a*a*a*a*a*"], 17),
    ],
)
def test_the_measure_agrees_with_event_ruler(wildcards: list[str], expected: int) -> None:
    assert raw(*wildcards) == expected


def test_values_are_measured_quoted_with_escapes_as_literals() -> None:
    assert tokens("a\\*") == (0x22, ord("a"), ord("*"), 0x22)
    assert tokens("é*") == (0x22, 0xC3, 0xA9, STAR, 0x22)
    assert complexity(["arn:aws:s3:::bucket/*"]) == 2
    assert complexity(["*:*:*:*:*:event-bus/*"]) == MAX_COMPLEXITY + 1


def test_a_too_complex_pattern_is_refused_naming_the_field() -> None:
    pattern = {"detail": {"arn": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}}
    with pytest.raises(InvalidEventPatternException) as caught:
        parse(pattern)
    assert caught.value.where == "$.detail.arn"
    assert "Rule is too complex" in caught.value.message and "11" in caught.value.message


def test_only_wildcards_count_not_anything_but_wildcards() -> None:
    parse({"a": [{"anything-but": {"wildcard": ["*:*:*:*:*:*:*", "*a*a*a*a*a*"]}}]})
