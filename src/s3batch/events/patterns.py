"""Parse and validate EventBridge event patterns into an immutable tree (pure).

PutRule and TestEventPattern share this one parser, and the matcher compiles its output.
The tree mirrors the JSON (objects, fields, ``$or``, leaves of operators); ``branches``
flattens it into the conjunctions the matcher indexes: one per ``$or`` combination, each a
tuple of ``Condition(path, operators)`` sorted the way event-ruler orders field names.

Validation follows event-ruler's ``JsonRuleCompiler`` (whose messages AWS returns), so a
rejected pattern says what is wrong and where, as a JSON path such as ``$.detail.size[0]``.
To add an operator: a dataclass in :mod:`.operators`, a parser in
:mod:`.operator_syntax`, and (optionally) an index in :mod:`.field_index`; operators
without one are scanned with ``test``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from s3batch.events.complexity import check_complexity
from s3batch.events.errors import InvalidEventPatternException, ValidationException
from s3batch.events.operator_syntax import bad, child, parse_operator, show
from s3batch.events.operators import Exact, Operator, is_number, normalise_number

#: Longest EventPattern accepted as text (botocore's constraint on PutRule / TestEventPattern).
MAX_PATTERN_LENGTH = 4096

#: Most ``$or`` combinations one pattern may expand to (EventBridge user guide).
MAX_COMBINATIONS = 1000

#: Names event-ruler reserves: they may not be field names inside a ``$or`` branch.
RESERVED_IN_OR = frozenset(
    {
        "exactly",
        "equals-ignore-case",
        "prefix",
        "suffix",
        "anything-but",
        "exists",
        "wildcard",
        "numeric",
        "cidr",
        "=",
        "<",
        "<=",
        ">",
        ">=",
        "regex",
        "not-wildcard",
        "not-equals-ignore-case",
        "date-after",
        "date-on-or-after",
        "date-before",
        "date-on-or-before",
        "in-date-range",
        "ip-address-in-range",
        "ip-address-not-in-range",
    }
)


@dataclass(frozen=True)
class Leaf:
    """A field's list of alternatives: it matches if any operator does."""

    operators: tuple[Operator, ...]


@dataclass(frozen=True)
class Field:
    """One named member of a pattern object: a nested object or a leaf."""

    name: str
    value: Obj | Leaf


@dataclass(frozen=True)
class AnyOf:
    """``"$or": [...]``: the enclosing object matches if any branch (an object) does."""

    branches: tuple[Obj, ...]


@dataclass(frozen=True)
class Obj:
    """A pattern object: its members are ANDed, in document order (a later path overrides)."""

    members: tuple[Field | AnyOf, ...]


@dataclass(frozen=True)
class Condition:
    """One field test of a branch: the dotted path and its alternatives."""

    path: str
    operators: tuple[Operator, ...]


#: A conjunction of conditions, sorted by path in event-ruler's order.
Branch = tuple[Condition, ...]


@dataclass(frozen=True)
class Pattern:
    """A parsed, valid event pattern."""

    root: Obj
    branches: tuple[Branch, ...]

    @property
    def paths(self) -> frozenset[str]:
        """Every field path the pattern tests."""
        return frozenset(c.path for branch in self.branches for c in branch)


def parse(pattern: str | Mapping[str, Any]) -> Pattern:
    """Parse and validate an event pattern given as JSON text or as parsed JSON.

    Raises:
        InvalidEventPatternException: the pattern is not valid (or its wildcards are too
            complex), with the reason and where.
        ValidationException: the text is longer than MAX_PATTERN_LENGTH.
    """
    if isinstance(pattern, str):
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise ValidationException(
                f"1 validation error detected: Value at 'eventPattern' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_PATTERN_LENGTH}"
            )
        pattern = _load(pattern)
    if not isinstance(pattern, Mapping):
        raise InvalidEventPatternException("Filter is not an object")
    root = _object(pattern, "$", in_or=False)
    branches = _branches(root)
    check_complexity(branches)
    return Pattern(root, branches)


def java_order(path: str) -> bytes:
    """Sort key giving Java's ``String.compareTo`` order (UTF-16 code units)."""
    return path.encode("utf-16-be", "surrogatepass")


def _load(text: str) -> Any:
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InvalidEventPatternException(
            f"Invalid JSON: {exc.msg}", where=f"line {exc.lineno}, column {exc.colno}"
        ) from exc
    except ValueError as exc:
        raise InvalidEventPatternException(f"Invalid JSON: {exc}") from exc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _object(doc: Mapping[str, Any], where: str, in_or: bool) -> Obj:
    if not doc:
        raise bad("Empty objects are not allowed", where)
    members: list[Field | AnyOf] = []
    for name, value in doc.items():
        if not isinstance(name, str):
            raise bad(f"Field name {show(name)} must be a string", where)
        at = child(where, name)
        if name == "$or":
            members.append(_any_of(value, at))
        elif in_or and name in RESERVED_IN_OR:
            raise bad(f"{name} is a reserved field name and cannot be used inside $or", at)
        elif isinstance(value, Mapping):
            members.append(Field(name, _object(value, at, in_or)))
        elif isinstance(value, list):
            members.append(Field(name, _leaf(value, at)))
        else:
            raise bad(f'"{name}" must be an object or an array', at)
    return Obj(tuple(members))


def _any_of(value: Any, where: str) -> AnyOf:
    if not isinstance(value, list):
        raise bad("$or must be followed by an array of objects", where)
    branches = []
    for i, branch in enumerate(value):
        if not isinstance(branch, Mapping):
            raise bad(
                "Only JSON objects are allowed in the array of a $or relationship", f"{where}[{i}]"
            )
        branches.append(_object(branch, f"{where}[{i}]", in_or=True))
    if len(branches) < 2:
        raise bad("There must be at least 2 objects in a $or relationship", where)
    return AnyOf(tuple(branches))


def _leaf(values: list[Any], where: str) -> Leaf:
    if not values:
        raise bad("Empty arrays are not allowed", where)
    operators = [_alternative(value, f"{where}[{i}]") for i, value in enumerate(values)]
    return Leaf(tuple(dict.fromkeys(operators)))


def _alternative(value: Any, where: str) -> Operator:
    if isinstance(value, Mapping):
        return parse_operator(value, where)
    if value is None or isinstance(value, (str, bool)):
        return Exact(value)
    if is_number(value) and _finite(value):
        return Exact(normalise_number(value))
    raise bad("Match value must be String, number, true, false, or null", where)


def _finite(value: int | float | Decimal) -> bool:
    if isinstance(value, Decimal):
        return value.is_finite()
    return not isinstance(value, float) or math.isfinite(value)


def _branches(root: Obj) -> tuple[Branch, ...]:
    expanded = _expand(root, "", [{}])
    return tuple(
        tuple(
            sorted(
                (Condition(path, ops) for path, ops in conditions.items()),
                key=lambda c: java_order(c.path),
            )
        )
        for conditions in expanded
    )


def _expand(
    obj: Obj, prefix: str, partials: list[dict[str, tuple[Operator, ...]]]
) -> list[dict[str, tuple[Operator, ...]]]:
    """Apply an object's members to every partial branch, in document order (later paths win)."""
    for member in obj.members:
        if isinstance(member, AnyOf):
            forked: list[dict[str, tuple[Operator, ...]]] = []
            for branch in member.branches:
                forked.extend(_expand(branch, prefix, [dict(p) for p in partials]))
                if len(forked) > MAX_COMBINATIONS:
                    raise InvalidEventPatternException(
                        f"The $or relationships expand to more than {MAX_COMBINATIONS} combinations"
                    )
            partials = forked
            continue
        path = f"{prefix}.{member.name}" if prefix else member.name
        if isinstance(member.value, Leaf):
            for partial in partials:
                partial[path] = member.value.operators
        else:
            partials = _expand(member.value, path, partials)
    return partials
