"""The compiled Matcher against the case corpus, the reference events, and a naive oracle."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s3batch.events.errors import ValidationException
from s3batch.events.matcher import Matcher, matches_pattern
from s3batch.events.patterns import parse

CORPUS = json.loads((Path(__file__).parent / "pattern_cases.json").read_text())
REFERENCE = Path("/work/shared/reference/events")


# --- the oracle: a direct reading of the semantics, no indexes ---------------------------
#
# A pattern is expanded into branches ($or forks; a later path replaces an earlier one).
# A branch matches if its conditions, taken in Java string order of their paths, can each
# pick a leaf that satisfies one alternative and that lies in the same element as every
# other picked leaf for each array they share; ``exists: false`` instead requires that no
# leaf at the path is consistent with the leaves picked so far.


def oracle(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether the pattern matches the event, computed the slow, obvious way."""
    leaves = list(_leaves(event, "", ()))
    for branch in _expand(pattern, "", [{}]):
        conditions = sorted(
            branch.items(), key=lambda kv: kv[0].encode("utf-16-be", "surrogatepass")
        )
        if _pick(conditions, 0, {}, leaves):
            return True
    return False


def _leaves(
    value: Any, path: str, membership: tuple[tuple[int, int], ...], counter: list[int] | None = None
):
    counter = [0] if counter is None else counter
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves(child, f"{path}.{key}" if path else key, membership, counter)
    elif isinstance(value, list):
        array = counter[0]
        counter[0] += 1
        for i, element in enumerate(value):
            inner = membership + ((array, i),) if isinstance(element, (dict, list)) else membership
            yield from _leaves(element, path, inner, counter)
    else:
        yield path, value, membership


def _expand(
    obj: dict[str, Any], prefix: str, partials: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    for key, value in obj.items():
        if key == "$or":
            partials = [
                done
                for branch in value
                for done in _expand(branch, prefix, [dict(p) for p in partials])
            ]
        elif isinstance(value, dict):
            partials = _expand(value, f"{prefix}{key}.", partials)
        else:
            for partial in partials:
                partial[prefix + key] = value
    return partials


def _consistent(
    constraints: dict[int, int], membership: tuple[tuple[int, int], ...]
) -> dict[int, int] | None:
    merged = dict(constraints)
    for array, index in membership:
        if merged.setdefault(array, index) != index:
            return None
    return merged


def _pick(
    conditions: list[tuple[str, list[Any]]], i: int, constraints: dict[int, int], leaves: list[Any]
) -> bool:
    if i == len(conditions):
        return True
    path, alternatives = conditions[i]
    here = [(value, membership) for p, value, membership in leaves if p == path]
    for value, membership in here:
        merged = _consistent(constraints, membership)
        if (
            merged is not None
            and any(_alt(a, value) for a in alternatives)
            and _pick(conditions, i + 1, merged, leaves)
        ):
            return True
    if {"exists": False} in alternatives and all(
        _consistent(constraints, m) is None for _, m in here
    ):
        return _pick(conditions, i + 1, constraints, leaves)
    return False


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _double(value: Any) -> float | None:
    if not _number(value):
        return None
    if isinstance(value, int):
        return float(value) if abs(value) < 2**1023 and float(value) == value else None
    return value


def _lower(text: str) -> str:
    return "".join(c.lower() if ord(c) <= 0xFFFF else c for c in text)


def _ip(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    if not (
        re.fullmatch(r"\d+\.\d+\.\d+\.\d+", text)
        or re.fullmatch(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*", text)
    ):
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address


def _glob(pattern: str, text: str) -> bool:
    tokens: list[str | None] = []  # None is a star
    chars = iter(pattern)
    for ch in chars:
        tokens.append(next(chars) if ch == "\\" else None if ch == "*" else ch)

    def go(t: int, s: int) -> bool:
        if t == len(tokens):
            return s == len(text)
        if tokens[t] is None:
            return any(go(t + 1, k) for k in range(s, len(text) + 1))
        return s < len(text) and text[s] == tokens[t] and go(t + 1, s + 1)

    return go(0, 0)


def _literal(alt: Any, value: Any) -> bool:
    if alt is None or isinstance(alt, bool):
        return value is alt
    if isinstance(alt, str):
        if _ip(alt) is not None:
            return _ip(value) == _ip(alt)
        return isinstance(value, str) and value == alt
    return _number(value) and value == alt


def _compare(op: str, value: float, bound: float) -> bool:
    return {
        "=": value == bound,
        "<": value < bound,
        "<=": value <= bound,
        ">": value > bound,
        ">=": value >= bound,
    }[op]


def _excluded(arg: Any, value: Any) -> bool:
    if isinstance(arg, dict):
        ((kind, values),) = arg.items()
        values = values if isinstance(values, list) else [values]
        if not isinstance(value, str):
            return False
        if kind == "prefix":
            return any(value.startswith(v) for v in values)
        if kind == "suffix":
            return any(value.endswith(v) for v in values)
        if kind == "wildcard":
            return any(_glob(v, value) for v in values)
        return any(_lower(value) == _lower(v) for v in values)
    values = arg if isinstance(arg, list) else [arg]
    if isinstance(value, str):
        return value in [v for v in values if isinstance(v, str)]
    number = _double(value)
    return number is not None and any(_number(v) and number == v for v in values)


def _alt(alt: Any, value: Any) -> bool:
    if not isinstance(alt, dict):
        return _literal(alt, value)
    ((op, arg),) = alt.items()
    text = value if isinstance(value, str) else None
    if op == "exists":
        return arg is True
    if op == "anything-but":
        return not _excluded(arg, value)
    if op == "numeric":
        number = _double(value)
        pairs = list(zip(arg[::2], arg[1::2], strict=True))
        return number is not None and all(_compare(o, number, b) for o, b in pairs)
    if text is None:
        return False
    if op in ("prefix", "suffix"):
        check = str.startswith if op == "prefix" else str.endswith
        if isinstance(arg, dict):
            return check(_lower(text), _lower(arg["equals-ignore-case"]))
        return check(text, arg)
    if op == "equals-ignore-case":
        return _lower(text) == _lower(arg)
    if op == "wildcard":
        return _glob(arg, text)
    if op == "cidr":
        return _ip(text) is not None and _ip(text) in ipaddress.ip_network(arg, strict=False)
    raise AssertionError(op)


# --- the corpus ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CORPUS["cases"], ids=[c["name"] for c in CORPUS["cases"]])
def test_corpus_case(case: dict[str, Any]) -> None:
    matcher = Matcher()
    matcher.add("r", case["pattern"])
    assert (matcher.matches(case["event"]) == {"r"}) is case["matches"]
    assert oracle(case["pattern"], case["event"]) is case["matches"]


def test_corpus_all_rules_in_one_matcher() -> None:
    matcher = Matcher()
    for i, case in enumerate(CORPUS["cases"]):
        matcher.add(str(i), case["pattern"])
    for i, case in enumerate(CORPUS["cases"]):
        expected = {
            str(j)
            for j, other in enumerate(CORPUS["cases"])
            if oracle(other["pattern"], case["event"])
        }
        assert matcher.matches(case["event"]) == expected, case["name"]
        assert (str(i) in expected) is case["matches"]


# --- the reference events -----------------------------------------------------------------

EXPECTED = {
    "cloudtrail_putobject_via_eventbridge.json": {
        "cloudtrail_object_written_CORRECT",
        "cloudtrail_putobject_only_MISSES_MULTIPART",
    },
    "cloudtrail_completemultipartupload_via_eventbridge.json": {
        "cloudtrail_object_written_CORRECT"
    },
    "s3_eventbridge_object_created_putobject.json": {"s3_native_object_created"},
    "s3_eventbridge_object_created_multipart.json": {"s3_native_object_created"},
    "s3_notification_record_put.json": set(),
    "s3_notification_record_multipart.json": set(),
}


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="reference events not present")
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reference_rules_against_reference_events(name: str) -> None:
    matcher = Matcher()
    for rule, pattern in json.loads(
        (REFERENCE / "eventbridge_rule_patterns.json").read_text()
    ).items():
        matcher.add(rule, json.dumps(pattern))
    event = json.loads((REFERENCE / name).read_text())
    assert matcher.matches(event) == EXPECTED[name]


# --- registration -------------------------------------------------------------------------


def test_add_replaces_and_remove_forgets() -> None:
    matcher = Matcher()
    matcher.add("r", {"a": ["x"]})
    matcher.add("r", {"a": ["y"]})
    assert matcher.matches({"a": "x"}) == set()
    assert matcher.matches({"a": "y"}) == {"r"}
    matcher.remove("r")
    matcher.remove("never-added")
    assert matcher.matches({"a": "y"}) == set() and "r" not in matcher and len(matcher) == 0


def test_shared_conditions_survive_removal_of_one_rule() -> None:
    matcher = Matcher()
    matcher.add("one", {"source": ["aws.s3"], "detail": {"key": [{"prefix": "in/"}]}})
    matcher.add(
        "two",
        {
            "source": ["aws.s3"],
            "detail": {"key": [{"prefix": "in/"}], "size": [{"numeric": [">", 5]}]},
        },
    )
    event = {"source": "aws.s3", "detail": {"key": "in/a", "size": 10}}
    assert matcher.matches(event) == {"one", "two"}
    matcher.remove("one")
    assert matcher.matches(event) == {"two"}
    matcher.remove("two")
    assert matcher.matches(event) == set()
    assert not matcher._root and not matcher._conditions and not matcher._branches


def test_rules_on_equal_python_values_of_different_json_types_stay_apart() -> None:
    matcher = Matcher()
    matcher.add("true", {"a": [True]})
    matcher.add("one", {"a": [1]})
    matcher.add("false", {"a": [False]})
    matcher.add("zero", {"a": [0]})
    assert matcher.matches({"a": 1}) == {"one"}
    assert matcher.matches({"a": True}) == {"true"}
    assert matcher.matches({"a": [0, False]}) == {"zero", "false"}


def test_rule_with_only_absences_matches_events_without_those_fields() -> None:
    matcher = Matcher()
    matcher.add("quiet", {"detail": {"error": [{"exists": False}]}})
    assert matcher.matches({"source": "x"}) == {"quiet"}
    assert matcher.matches({"detail": {"error": "boom"}}) == set()


def test_accepts_text_parsed_patterns_and_rejects_non_object_events() -> None:
    assert matches_pattern('{"a": [1]}', {"a": 1.0})
    assert matches_pattern(parse({"a": [1]}), {"a": [2, 1]})
    with pytest.raises(ValidationException):
        Matcher().matches(["not", "an", "object"])  # type: ignore[arg-type]


def test_many_rules_one_pass() -> None:
    matcher = Matcher()
    for i in range(500):
        matcher.add(f"exact{i}", {"detail": {"key": [f"in/{i}.csv"]}})
        matcher.add(f"prefix{i}", {"detail": {"key": [{"prefix": f"in/{i}."}]}})
    assert matcher.matches({"detail": {"key": "in/42.csv"}}) == {"exact42", "prefix42"}


# --- differential: Matcher versus the oracle on generated patterns and events -------------

NAMES = st.sampled_from(["a", "b", "c"])
TEXT = st.one_of(
    st.text(alphabet="aAbB.*/é", max_size=4),
    st.sampled_from(
        ["10.0.0.1", "10.0.1.7", "::1", "2001:db8::5", "::ffff:a00:1", "", "true", "5", "null"]
    ),
)
NUMBER = st.one_of(st.integers(-3, 12), st.sampled_from([0.5, -1.5, 2.0, 1e20, 9007199254740993]))
SCALAR = st.one_of(TEXT, NUMBER, st.booleans(), st.none())
WILDCARD = st.text(alphabet="aB.*", max_size=4).filter(lambda s: "**" not in s)
NONEMPTY = TEXT.filter(bool)


@st.composite
def numeric_ranges(draw: st.DrawFn) -> list[Any]:
    low, high = sorted(draw(st.lists(st.integers(-3, 12), min_size=2, max_size=2, unique=True)))
    shape = draw(st.sampled_from(["=", "low", "high", "both"]))
    if shape == "=":
        return ["=", low]
    lower = [draw(st.sampled_from([">", ">="])), low]
    upper = [draw(st.sampled_from(["<", "<="])), high]
    return lower if shape == "low" else upper if shape == "high" else lower + upper


def _one_or_list(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(values, st.lists(values, min_size=1, max_size=3))


OPERATOR = st.one_of(
    SCALAR,
    st.builds(lambda s: {"prefix": s}, TEXT),
    st.builds(lambda s: {"prefix": {"equals-ignore-case": s}}, TEXT),
    st.builds(lambda s: {"suffix": s}, TEXT),
    st.builds(lambda s: {"suffix": {"equals-ignore-case": s}}, TEXT),
    st.builds(lambda s: {"equals-ignore-case": s}, TEXT),
    st.builds(lambda s: {"wildcard": s}, WILDCARD),
    st.builds(lambda r: {"numeric": r}, numeric_ranges()),
    st.builds(lambda b: {"exists": b}, st.booleans()),
    st.just({"exists": False}),
    st.builds(
        lambda c: {"cidr": c},
        st.sampled_from(["10.0.0.0/24", "10.0.0.0/8", "::/1", "2001:db8::/32"]),
    ),
    st.builds(lambda v: {"anything-but": v}, _one_or_list(TEXT)),
    st.builds(lambda v: {"anything-but": v}, _one_or_list(st.integers(-3, 12))),
    st.builds(
        lambda k, v: {"anything-but": {k: v}},
        st.sampled_from(["prefix", "suffix"]),
        _one_or_list(NONEMPTY),
    ),
    st.builds(lambda v: {"anything-but": {"equals-ignore-case": v}}, _one_or_list(TEXT)),
    st.builds(lambda v: {"anything-but": {"wildcard": v}}, _one_or_list(WILDCARD)),
)
LEAF = st.lists(OPERATOR, min_size=1, max_size=3)


@st.composite
def pattern_objects(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    value = LEAF if depth >= 2 else st.one_of(LEAF, LEAF, pattern_objects(depth + 1))
    obj: dict[str, Any] = draw(st.dictionaries(NAMES, value, min_size=1, max_size=2))
    if depth < 2 and draw(st.integers(0, 4)) == 0:
        obj["$or"] = draw(st.lists(pattern_objects(depth + 1), min_size=2, max_size=3))
    return obj


RANDOM_EVENT = st.dictionaries(
    NAMES,
    st.recursive(
        SCALAR,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(NAMES, inner, max_size=3)
        ),
        max_leaves=8,
    ),
    min_size=1,
    max_size=3,
)


def _twin(value: Any) -> Any:
    """The same text in another JSON type: "5" and 5, "true" and true, "null" and null."""
    if isinstance(value, str):
        return {"true": True, "false": False, "null": None}.get(
            value, int(value) if value.isdigit() else value
        )
    return json.dumps(value)


def _near(op: Any, draw: st.DrawFn) -> Any:
    """A value that probably satisfies (or just misses) one pattern alternative."""
    if draw(st.integers(0, 7)) == 0:
        return _twin(_near(op, draw))
    if not isinstance(op, dict):
        return op
    ((name, arg),) = op.items()
    tail = draw(st.sampled_from(["", "a", "B/"]))
    if name in ("prefix", "suffix"):
        text = arg["equals-ignore-case"].swapcase() if isinstance(arg, dict) else arg
        return text + tail if name == "prefix" else tail + text
    if name == "equals-ignore-case":
        return arg.swapcase()
    if name == "wildcard":
        return arg.replace("*", tail)
    if name == "numeric":
        return draw(st.sampled_from(arg[1::2])) + draw(st.sampled_from([-1, 0, 0, 1, 0.5]))
    if name == "anything-but":
        values = next(iter(arg.values())) if isinstance(arg, dict) else arg
        return draw(st.sampled_from(values if isinstance(values, list) else [values]))
    if name == "cidr":
        return draw(st.sampled_from(["10.0.0.9", "10.1.2.3", "2001:db8::5", "::1"]))
    return draw(SCALAR)


@st.composite
def events_for(draw: st.DrawFn, pattern: dict[str, Any], sparse: bool = False) -> dict[str, Any]:
    """An event shaped by the pattern: its fields, near values, arrays of objects, gaps.

    Elements of generated arrays of objects are ``sparse``: each lacks a field more often,
    so array consistency and ``exists: false`` inside arrays get exercised.
    """
    event: dict[str, Any] = {}
    for key, value in pattern.items():
        if key == "$or":
            for branch in draw(st.lists(st.sampled_from(value), min_size=1, max_size=2)):
                event.update(draw(events_for(branch, sparse)))
            continue
        shape = draw(st.integers(0, 9))
        if shape < (4 if sparse else 1):
            continue
        if isinstance(value, dict):
            if shape < 5:
                event[key] = draw(events_for(value, sparse))
            else:
                event[key] = [draw(events_for(value, True)) for _ in range(draw(st.integers(1, 3)))]
        else:
            values = [
                _near(draw(st.sampled_from(value)), draw) for _ in range(draw(st.integers(1, 3)))
            ]
            event[key] = values[0] if shape < 6 else values if shape < 9 else draw(SCALAR)
    return event


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(patterns=st.lists(pattern_objects(), min_size=1, max_size=4), data=st.data())
def test_matcher_agrees_with_oracle(patterns: list[dict[str, Any]], data: st.DataObject) -> None:
    matcher = Matcher()
    for i, pattern in enumerate(patterns):
        matcher.add(str(i), pattern)
    events = [data.draw(events_for(p)) for p in patterns] + [data.draw(RANDOM_EVENT)]
    for event in events:
        assert matcher.matches(event) == {
            str(i) for i, p in enumerate(patterns) if oracle(p, event)
        }
    gone = data.draw(st.sets(st.sampled_from([str(i) for i in range(len(patterns))])))
    for rule in gone:
        matcher.remove(rule)
    for event in events:
        expected = {str(i) for i, p in enumerate(patterns) if oracle(p, event)} - gone
        assert matcher.matches(event) == expected
    back = data.draw(st.sets(st.sampled_from(sorted(gone)))) if gone else set()
    for rule in back:  # re-added after removal: shared conditions and paths are rebuilt
        matcher.add(rule, patterns[int(rule)])
    for event in events:
        expected = {str(i) for i, p in enumerate(patterns) if oracle(p, event)} - (gone - back)
        assert matcher.matches(event) == expected


SMALL = st.sampled_from(["x", "y", 1, None])
ARRAY_LEAF = st.lists(
    st.one_of(
        SMALL, st.just({"exists": False}), st.just({"exists": True}), st.just({"anything-but": "x"})
    ),
    min_size=1,
    max_size=2,
)
ELEMENT = st.dictionaries(
    st.sampled_from(["a", "b", "c"]), st.one_of(SMALL, st.lists(SMALL, max_size=2)), max_size=3
)


@settings(max_examples=200, deadline=None)
@given(
    fields=st.dictionaries(st.sampled_from(["a", "b", "c"]), ARRAY_LEAF, min_size=2, max_size=3),
    elements=st.lists(
        st.one_of(ELEMENT, ELEMENT, st.lists(ELEMENT, max_size=2)), min_size=2, max_size=4
    ),
    top=SMALL,
)
def test_matcher_agrees_with_oracle_on_arrays_of_objects(
    fields: dict[str, Any], elements: list[Any], top: Any
) -> None:
    pattern = {"d": fields, "t": [top, {"exists": False}]}
    event = {"d": elements, "t": top}
    assert matches_pattern(pattern, event) is oracle(pattern, event)
