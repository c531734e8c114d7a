"""Ref:: parameter substitution in commands, defaults and overrides."""

from __future__ import annotations

from s3batch.batch.params import merge, substitute


def test_whole_argument_placeholders_are_replaced() -> None:
    command = ["ffmpeg", "-i", "Ref::inputfile", "-c", "Ref::codec"]
    assert substitute(command, {"inputfile": "in.mp4", "codec": "mp4"}) == [
        "ffmpeg",
        "-i",
        "in.mp4",
        "-c",
        "mp4",
    ]


def test_embedded_placeholders_are_replaced() -> None:
    command = ["--in=Ref::src", "s3://Ref::bucket/Ref::key", "Ref::key.csv"]
    params = {"src": "a", "bucket": "b", "key": "k"}
    assert substitute(command, params) == ["--in=a", "s3://b/k", "k.csv"]


def test_unknown_placeholders_stay_literal() -> None:
    assert substitute(["Ref::missing", "x=Ref::nope", "Ref::"], {"other": "v"}) == [
        "Ref::missing",
        "x=Ref::nope",
        "Ref::",
    ]


def test_the_longest_parameter_name_wins() -> None:
    params = {"key": "K", "keyword": "W"}
    assert substitute(["Ref::keyword", "Ref::key-x", "Ref::keys"], params) == ["W", "K-x", "Ks"]


def test_values_are_not_substituted_again() -> None:
    assert substitute(["Ref::a"], {"a": "Ref::b", "b": "no"}) == ["Ref::b"]
    assert substitute(["x Ref::a y"], {"a": "Ref::b", "b": "no"}) == ["x Ref::b y"]


def test_a_value_may_be_empty_or_hold_spaces() -> None:
    assert substitute(["Ref::a", "<Ref::a>"], {"a": ""}) == ["", "<>"]
    assert substitute(["Ref::p"], {"p": "two words"}) == ["two words"]


def test_submitted_parameters_override_definition_defaults() -> None:
    merged = merge({"table": "persons", "mode": "replace"}, {"mode": "append", "key": "k"})
    assert merged == {"table": "persons", "mode": "append", "key": "k"}
    assert merge({"a": "1"}, None) == {"a": "1"}
