"""Parse and validate EventBridge event patterns into an immutable tree (pure).

PutRule and TestEventPattern share this one parser, and the matcher compiles its output.
The tree mirrors the JSON (objects, fields, ``$or``, leaves of operators); ``branches``
flattens it into the conjunctions the matcher indexes: one per ``$or`` combination, each a
tuple of ``Condition(path, operators)`` sorted the way event-ruler orders field names.

Validation follows event-ruler's ``JsonRuleCompiler`` (whose messages AWS returns), so a
rejected pattern says what is wrong and where, as a JSON path such as ``$.detail.size[0]``.
To add an operator: a dataclass in :mod:`.operators`, a parser in ``_OPERATORS`` below, and
(optionally) an index in the matcher; operators without one are scanned with ``test``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from s3batch.events.errors import InvalidEventPatternException, ValidationException
from s3batch.events.operators import (
    AnythingBut,
    AnythingButKind,
    Cidr,
    EqualsIgnoreCase,
    Exact,
    Exists,
    Numeric,
    Operator,
    Prefix,
    Suffix,
    Wildcard,
    comparable,
    is_number,
    normalise_number,
    parse_cidr,
    wildcard_regex,
)

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

_NUMERIC_OPS = ("=", "<", "<=", ">", ">=")
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_$-]+")


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
        InvalidEventPatternException: the pattern is not valid, with the reason and where.
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
    return Pattern(root, _branches(root))


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


def _bad(reason: str, where: str) -> InvalidEventPatternException:
    return InvalidEventPatternException(reason, where=where)


def _child(where: str, name: str) -> str:
    return f"{where}.{name}" if _PLAIN_KEY.fullmatch(name) else f"{where}[{json.dumps(name)}]"


def _show(value: Any) -> str:
    return json.dumps(value, default=str)


def _object(doc: Mapping[str, Any], where: str, in_or: bool) -> Obj:
    if not doc:
        raise _bad("Empty objects are not allowed", where)
    members: list[Field | AnyOf] = []
    for name, value in doc.items():
        if not isinstance(name, str):
            raise _bad(f"Field name {_show(name)} must be a string", where)
        at = _child(where, name)
        if name == "$or":
            members.append(_any_of(value, at))
        elif in_or and name in RESERVED_IN_OR:
            raise _bad(f"{name} is a reserved field name and cannot be used inside $or", at)
        elif isinstance(value, Mapping):
            members.append(Field(name, _object(value, at, in_or)))
        elif isinstance(value, list):
            members.append(Field(name, _leaf(value, at)))
        else:
            raise _bad(f'"{name}" must be an object or an array', at)
    return Obj(tuple(members))


def _any_of(value: Any, where: str) -> AnyOf:
    if not isinstance(value, list):
        raise _bad("$or must be followed by an array of objects", where)
    branches = []
    for i, branch in enumerate(value):
        if not isinstance(branch, Mapping):
            raise _bad(
                "Only JSON objects are allowed in the array of a $or relationship", f"{where}[{i}]"
            )
        branches.append(_object(branch, f"{where}[{i}]", in_or=True))
    if len(branches) < 2:
        raise _bad("There must be at least 2 objects in a $or relationship", where)
    return AnyOf(tuple(branches))


def _leaf(values: list[Any], where: str) -> Leaf:
    if not values:
        raise _bad("Empty arrays are not allowed", where)
    operators = [_alternative(value, f"{where}[{i}]") for i, value in enumerate(values)]
    return Leaf(tuple(dict.fromkeys(operators)))


def _alternative(value: Any, where: str) -> Operator:
    if isinstance(value, Mapping):
        return _operator(value, where)
    if value is None or isinstance(value, (str, bool)):
        return Exact(value)
    if is_number(value) and _finite(value):
        return Exact(normalise_number(value))
    raise _bad("Match value must be String, number, true, false, or null", where)


def _finite(value: int | float | Decimal) -> bool:
    if isinstance(value, Decimal):
        return value.is_finite()
    return not isinstance(value, float) or math.isfinite(value)


def _operator(expression: Mapping[str, Any], where: str) -> Operator:
    if not expression:
        raise _bad("Match expression name not found", where)
    if len(expression) > 1:
        raise _bad("Only one key allowed in match expression", where)
    ((name, argument),) = expression.items()
    handler = _OPERATORS.get(name)
    if handler is None:
        raise _bad(f"Unrecognized match type {name}", where)
    return handler(argument, _child(where, name))


def _nested_ignore_case(kind: str, argument: Mapping[str, Any], where: str) -> str:
    if not argument:
        raise _bad(f"{kind.capitalize()} expression name not found", where)
    if len(argument) > 1:
        raise _bad("Only one key allowed in match expression", where)
    ((name, value),) = argument.items()
    if name != "equals-ignore-case":
        raise _bad(f"Unsupported {kind} pattern: {name}", _child(where, name))
    if not isinstance(value, str):
        raise _bad("equals-ignore-case match pattern must be a string", _child(where, name))
    return value


def _prefix(argument: Any, where: str) -> Operator:
    if isinstance(argument, Mapping):
        return Prefix(_nested_ignore_case("prefix", argument, where), ignore_case=True)
    if not isinstance(argument, str):
        raise _bad("prefix match pattern must be a string", where)
    return Prefix(argument)


def _suffix(argument: Any, where: str) -> Operator:
    if isinstance(argument, Mapping):
        return Suffix(_nested_ignore_case("suffix", argument, where), ignore_case=True)
    if not isinstance(argument, str):
        raise _bad("suffix match pattern must be a string", where)
    return Suffix(argument)


def _equals_ignore_case(argument: Any, where: str) -> Operator:
    if not isinstance(argument, str):
        raise _bad("equals-ignore-case match pattern must be a string", where)
    return EqualsIgnoreCase(argument)


def _wildcard(argument: Any, where: str) -> Operator:
    if not isinstance(argument, str):
        raise _bad("wildcard match pattern must be a string", where)
    try:
        return Wildcard(argument)
    except ValueError as exc:
        raise _bad(str(exc), where) from exc


def _exists(argument: Any, where: str) -> Operator:
    if not isinstance(argument, bool):
        raise _bad("exists match pattern must be either true or false.", where)
    return Exists(argument)


def _cidr(argument: Any, where: str) -> Operator:
    if not isinstance(argument, str):
        raise _bad("cidr match pattern must be a string", where)
    try:
        return Cidr(parse_cidr(argument))
    except ValueError as exc:
        raise _bad(str(exc), where) from exc


def _bound(items: list[Any], i: int, operator: str, where: str) -> float:
    if i >= len(items) or not is_number(items[i]):
        raise _bad(f"Value of {operator} must be numeric", f"{where}[{min(i, len(items))}]")
    value = comparable(items[i])
    if value is None:
        raise _bad(f"Cannot compare number : {_show(items[i])}", f"{where}[{i}]")
    return value


def _numeric(argument: Any, where: str) -> Operator:
    if not isinstance(argument, list):
        raise _bad("Value of numeric must be an array.", where)
    first = argument[0] if argument else None
    if not isinstance(first, str):
        raise _bad(f"Invalid member in numeric match: {_show(first)}", f"{where}[0]")
    if first not in _NUMERIC_OPS:
        raise _bad(f"Unrecognized numeric range operator: {first}", f"{where}[0]")
    value = _bound(argument, 1, first, where)
    if first in ("=", "<", "<=") or len(argument) == 2:
        if len(argument) > 2:
            raise _bad("Too many elements in numeric expression", f"{where}[2]")
        if first == "=":
            return Numeric(value, True, value, True)
        if first in ("<", "<="):
            return Numeric(upper=value, upper_inclusive=first == "<=")
        return Numeric(lower=value, lower_inclusive=first == ">=")
    second = argument[2]
    if not isinstance(second, str):
        raise _bad(f"Bad value in numeric range: {_show(second)}", f"{where}[2]")
    if second not in ("<", "<="):
        raise _bad(f"Bad numeric range operator: {second}", f"{where}[2]")
    top = _bound(argument, 3, second, where)
    if len(argument) > 4:
        raise _bad("Too many terms in numeric range expression", f"{where}[4]")
    if not value < top:
        raise _bad("Bottom must be less than top", where)
    return Numeric(value, first == ">=", top, second == "<=")


_ANYTHING_BUT_KINDS = ("equals-ignore-case", "prefix", "suffix", "wildcard")


def _anything_but(argument: Any, where: str) -> Operator:
    kind = "equals"
    if isinstance(argument, Mapping):
        if not argument:
            raise _bad("Anything-But expression name not found", where)
        if len(argument) > 1:
            raise _bad("Only one key allowed in match expression", where)
        ((kind, argument),) = argument.items()
        if kind not in _ANYTHING_BUT_KINDS:
            raise _bad(f"Unsupported anything-but pattern: {kind}", _child(where, kind))
        where = _child(where, kind)
    if isinstance(argument, list):
        if not argument:
            raise _bad("Empty arrays are not allowed", where)
        items = [(value, f"{where}[{i}]") for i, value in enumerate(argument)]
    elif isinstance(argument, str) or is_number(argument):
        items = [(argument, where)]
    else:
        raise _bad("Value of anything-but must be an array or single string/number value.", where)
    if kind == "equals":
        return AnythingBut("equals", _excluded_values(items, where))
    for value, at in items:
        _check_anything_but_string(kind, value, at)
    return AnythingBut(
        cast(AnythingButKind, kind), tuple(dict.fromkeys(value for value, _ in items))
    )


def _excluded_values(items: list[tuple[Any, str]], where: str) -> tuple[str | float, ...]:
    values: list[str | float] = []
    for value, at in items:
        if isinstance(value, str):
            values.append(value)
        elif is_number(value):
            number = comparable(value)
            if number is None:
                raise _bad(f"Cannot compare number : {_show(value)}", at)
            values.append(number)
        else:
            raise _bad(
                "Inside anything-but list, null, boolean, object and array values are not supported",
                at,
            )
    if len({isinstance(v, str) for v in values}) > 1:
        raise _bad(
            "Inside anything but list, either all values are number or string, mixed type is not supported",
            where,
        )
    return tuple(dict.fromkeys(values))


def _check_anything_but_string(kind: str, value: Any, where: str) -> None:
    if not isinstance(value, str):
        if kind == "equals-ignore-case":
            raise _bad(
                "Inside anything-but/equals-ignore-case list, only strings are supported", where
            )
        noun = "wildcard" if kind == "wildcard" else "prefix/suffix"
        raise _bad(f"{noun} match pattern must be a string", where)
    if kind in ("prefix", "suffix") and not value:
        raise _bad("Null prefix/suffix not allowed", where)
    if kind == "wildcard":
        try:
            wildcard_regex(value)
        except ValueError as exc:
            raise _bad(str(exc), where) from exc


#: Parsers of the operator objects, by name (names are case-sensitive).
_OPERATORS: dict[str, Callable[[Any, str], Operator]] = {
    "prefix": _prefix,
    "suffix": _suffix,
    "equals-ignore-case": _equals_ignore_case,
    "wildcard": _wildcard,
    "anything-but": _anything_but,
    "numeric": _numeric,
    "exists": _exists,
    "cidr": _cidr,
}


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
