"""Parsing and validating event patterns: the tree, its branches, and what is rejected."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from s3batch.errors import InvalidRequest, S3BatchError
from s3batch.events.errors import InvalidEventPatternException, ValidationException
from s3batch.events.operators import (
    AnythingBut,
    Cidr,
    Exact,
    Exists,
    Numeric,
    Prefix,
    Suffix,
    Wildcard,
)
from s3batch.events.patterns import MAX_PATTERN_LENGTH, AnyOf, Field, Leaf, Obj, java_order, parse

CORPUS = json.loads((Path(__file__).parent / "pattern_cases.json").read_text())


@pytest.mark.parametrize("case", CORPUS["invalid"], ids=[c["name"] for c in CORPUS["invalid"]])
def test_invalid_pattern_is_rejected_with_reason(case: dict[str, Any]) -> None:
    source = case.get("pattern_text", case.get("pattern"))
    with pytest.raises(InvalidEventPatternException) as caught:
        parse(source)
    assert caught.value.message.startswith("Event pattern is not valid. Reason: ")
    assert case["error_contains"] in caught.value.message
    assert caught.value.code == "InvalidEventPatternException"


@pytest.mark.parametrize("case", CORPUS["invalid"], ids=[c["name"] for c in CORPUS["invalid"]])
def test_invalid_pattern_is_rejected_as_text_too(case: dict[str, Any]) -> None:
    text = case.get("pattern_text") or json.dumps(case["pattern"])
    with pytest.raises(InvalidEventPatternException):
        parse(text)


def test_every_corpus_pattern_is_valid_as_json_and_as_text() -> None:
    for case in CORPUS["cases"]:
        assert parse(case["pattern"]) == parse(json.dumps(case["pattern"])), case["name"]


def test_error_names_reason_and_place() -> None:
    with pytest.raises(InvalidEventPatternException) as caught:
        parse({"detail": {"size": [{"numeric": [">", 5, "<", "x"]}]}})
    error = caught.value
    assert error.reason == "Value of < must be numeric"
    assert error.where == "$.detail.size[0].numeric[3]"
    assert error.message == (
        "Event pattern is not valid. Reason: Value of < must be numeric (at $.detail.size[0].numeric[3])"
    )
    assert isinstance(error, InvalidRequest) and isinstance(error, S3BatchError)


def test_place_quotes_unusual_keys() -> None:
    with pytest.raises(InvalidEventPatternException) as caught:
        parse({"detail": {"a.b c": []}})
    assert caught.value.where == '$.detail["a.b c"]'


def test_length_limit_applies_to_text() -> None:
    body = '{"source": ["aws.s3"]}'
    assert parse(body + " " * (MAX_PATTERN_LENGTH - len(body)))
    with pytest.raises(ValidationException) as caught:
        parse(body + " " * (MAX_PATTERN_LENGTH + 1 - len(body)))
    assert caught.value.code == "ValidationException"


def test_tree_mirrors_the_json() -> None:
    pattern = parse(
        {
            "source": ["aws.s3"],
            "detail": {"object": {"key": [{"prefix": "in/"}, {"suffix": ".csv"}]}},
            "$or": [{"a": [{"exists": False}]}, {"b": [{"numeric": [">=", 1, "<", 2]}]}],
        }
    )
    source, detail, either = pattern.root.members
    assert source == Field("source", Leaf((Exact("aws.s3"),)))
    assert detail == Field(
        "detail",
        Obj((Field("object", Obj((Field("key", Leaf((Prefix("in/"), Suffix(".csv")))),))),)),
    )
    assert isinstance(either, AnyOf) and len(either.branches) == 2
    assert either.branches[1].members[0].value == Leaf((Numeric(1.0, True, 2.0, False),))
    assert pattern.paths == {"source", "detail.object.key", "a", "b"}


def test_tree_is_immutable() -> None:
    pattern = parse({"a": ["x"]})
    with pytest.raises(dataclasses.FrozenInstanceError):
        pattern.root = Obj(())  # type: ignore[misc]


def test_branches_expand_or_and_sort_paths_like_java() -> None:
    pattern = parse(
        {"detail": {"x": [1]}, "detail-type": ["t"], "$or": [{"a": [1]}, {"b": [2], "c": [3]}]}
    )
    assert [[c.path for c in branch] for branch in pattern.branches] == [
        ["a", "detail-type", "detail.x"],
        ["b", "c", "detail-type", "detail.x"],
    ]


def test_later_path_replaces_earlier_one_in_a_branch() -> None:
    pattern = parse({"a": {"b": ["x"]}, "a.b": ["y"]})
    assert pattern.branches == ((pattern.branches[0][0],),)
    assert pattern.branches[0][0].operators == (Exact("y"),)


def test_duplicate_keys_in_text_keep_the_last() -> None:
    assert parse('{"a": ["x"], "a": ["y"]}') == parse({"a": ["y"]})


def test_java_order_uses_utf16_code_units() -> None:
    assert sorted(["\uffff", "\U0001f600", "a"], key=java_order) == ["a", "\U0001f600", "\uffff"]


def test_numbers_are_normalised() -> None:
    leaf = (
        parse('{"n": [300, 3e2, 0.1, 0.10000000000000001, 12345678901234567891]}')
        .root.members[0]
        .value
    )
    assert leaf == Leaf(
        (
            Exact(300.0),
            Exact(0.1),
            Exact(Decimal("0.10000000000000001")),
            Exact(12345678901234567891),
        )
    )


def test_operator_values() -> None:
    ops = (
        parse(
            {
                "a": [
                    {"anything-but": [3, 1.5]},
                    {"anything-but": {"suffix": [".jar", ".class"]}},
                    {"cidr": "10.0.0.7/24"},
                    {"wildcard": "dir/*"},
                    {"exists": True},
                    {"prefix": {"equals-ignore-case": "Ab"}},
                ]
            }
        )
        .root.members[0]
        .value.operators
    )
    assert ops[0] == AnythingBut("equals", (3.0, 1.5))
    assert ops[1] == AnythingBut("suffix", (".jar", ".class"))
    assert isinstance(ops[2], Cidr) and str(ops[2].network) == "10.0.0.0/24"
    assert isinstance(ops[3], Wildcard) and ops[3].test("dir/a/b") and not ops[3].test("x/dir/a")
    assert ops[4] == Exists(True)
    assert ops[5] == Prefix("Ab", ignore_case=True)


def test_repeated_alternatives_collapse() -> None:
    assert parse({"a": ["x", "x", 1, 1.0]}).root.members[0].value == Leaf((Exact("x"), Exact(1.0)))


def test_numbers_and_booleans_stay_apart() -> None:
    leaf = parse({"a": [1, True, 0, False]}).root.members[0].value
    assert leaf == Leaf((Exact(1.0), Exact(True), Exact(0.0), Exact(False)))
    assert Exact(1.0) != Exact(True) and Exact(0.0) != Exact(False)


def test_or_keyword_is_only_special_as_a_key() -> None:
    assert parse({"a": ["$or"]}).paths == {"a"}


def test_rejects_non_json_values_given_as_objects() -> None:
    with pytest.raises(InvalidEventPatternException, match="Match value must be"):
        parse({"a": [float("nan")]})
    with pytest.raises(InvalidEventPatternException, match="Match value must be"):
        parse({"a": [("tuple",)]})
    with pytest.raises(InvalidEventPatternException, match="Cannot compare number"):
        parse({"a": [{"numeric": [">", float("inf")]}]})
