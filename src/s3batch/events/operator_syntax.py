"""The operator objects of event patterns: ``{"prefix": ...}``, ``{"numeric": [...]}``, ... (pure).

Each parser checks its operator's argument as event-ruler's ``JsonRuleCompiler`` does (AWS
returns its messages) and builds the operator from :mod:`.operators`; an error names where
in the pattern it is, as a JSON path (``$.detail.size[0].numeric[2]``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, cast

from s3batch.events.errors import InvalidEventPatternException
from s3batch.events.operators import (
    AnythingBut,
    AnythingButKind,
    Cidr,
    EqualsIgnoreCase,
    Exists,
    Numeric,
    Operator,
    Prefix,
    Suffix,
    Wildcard,
    comparable,
    is_number,
    parse_cidr,
    wildcard_regex,
)

_NUMERIC_OPS = ("=", "<", "<=", ">", ">=")
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_$-]+")


def bad(reason: str, where: str) -> InvalidEventPatternException:
    """The error for an invalid pattern: what is wrong, and where."""
    return InvalidEventPatternException(reason, where=where)


def child(where: str, name: str) -> str:
    """The JSON path of member ``name`` under ``where``."""
    return f"{where}.{name}" if _PLAIN_KEY.fullmatch(name) else f"{where}[{json.dumps(name)}]"


def show(value: Any) -> str:
    """A value as JSON, for messages."""
    return json.dumps(value, default=str)


def parse_operator(expression: Mapping[str, Any], where: str) -> Operator:
    """Parse one operator object of a leaf.

    Raises:
        InvalidEventPatternException: the operator is unknown or its argument is not valid.
    """
    if not expression:
        raise bad("Match expression name not found", where)
    if len(expression) > 1:
        raise bad("Only one key allowed in match expression", where)
    ((name, argument),) = expression.items()
    handler = _OPERATORS.get(name)
    if handler is None:
        raise bad(f"Unrecognized match type {name}", where)
    return handler(argument, child(where, name))


def _nested_ignore_case(kind: str, argument: Mapping[str, Any], where: str) -> str:
    if not argument:
        raise bad(f"{kind.capitalize()} expression name not found", where)
    if len(argument) > 1:
        raise bad("Only one key allowed in match expression", where)
    ((name, value),) = argument.items()
    if name != "equals-ignore-case":
        raise bad(f"Unsupported {kind} pattern: {name}", child(where, name))
    if not isinstance(value, str):
        raise bad("equals-ignore-case match pattern must be a string", child(where, name))
    return value


def _prefix(argument: Any, where: str) -> Operator:
    if isinstance(argument, Mapping):
        return Prefix(_nested_ignore_case("prefix", argument, where), ignore_case=True)
    if not isinstance(argument, str):
        raise bad("prefix match pattern must be a string", where)
    return Prefix(argument)


def _suffix(argument: Any, where: str) -> Operator:
    if isinstance(argument, Mapping):
        return Suffix(_nested_ignore_case("suffix", argument, where), ignore_case=True)
    if not isinstance(argument, str):
        raise bad("suffix match pattern must be a string", where)
    return Suffix(argument)


def _equals_ignore_case(argument: Any, where: str) -> Operator:
    if not isinstance(argument, str):
        raise bad("equals-ignore-case match pattern must be a string", where)
    return EqualsIgnoreCase(argument)


def _wildcard(argument: Any, where: str) -> Operator:
    if not isinstance(argument, str):
        raise bad("wildcard match pattern must be a string", where)
    try:
        return Wildcard(argument)
    except ValueError as exc:
        raise bad(str(exc), where) from exc


def _exists(argument: Any, where: str) -> Operator:
    if not isinstance(argument, bool):
        raise bad("exists match pattern must be either true or false.", where)
    return Exists(argument)


def _cidr(argument: Any, where: str) -> Operator:
    if not isinstance(argument, str):
        raise bad("cidr match pattern must be a string", where)
    try:
        return Cidr(parse_cidr(argument))
    except ValueError as exc:
        raise bad(str(exc), where) from exc


def _bound(items: list[Any], i: int, operator: str, where: str) -> float:
    if i >= len(items) or not is_number(items[i]):
        raise bad(f"Value of {operator} must be numeric", f"{where}[{min(i, len(items))}]")
    value = comparable(items[i])
    if value is None:
        raise bad(f"Cannot compare number : {show(items[i])}", f"{where}[{i}]")
    return value


def _numeric(argument: Any, where: str) -> Operator:
    if not isinstance(argument, list):
        raise bad("Value of numeric must be an array.", where)
    first = argument[0] if argument else None
    if not isinstance(first, str):
        raise bad(f"Invalid member in numeric match: {show(first)}", f"{where}[0]")
    if first not in _NUMERIC_OPS:
        raise bad(f"Unrecognized numeric range operator: {first}", f"{where}[0]")
    value = _bound(argument, 1, first, where)
    if first in ("=", "<", "<=") or len(argument) == 2:
        if len(argument) > 2:
            raise bad("Too many elements in numeric expression", f"{where}[2]")
        if first == "=":
            return Numeric(value, True, value, True)
        if first in ("<", "<="):
            return Numeric(upper=value, upper_inclusive=first == "<=")
        return Numeric(lower=value, lower_inclusive=first == ">=")
    second = argument[2]
    if not isinstance(second, str):
        raise bad(f"Bad value in numeric range: {show(second)}", f"{where}[2]")
    if second not in ("<", "<="):
        raise bad(f"Bad numeric range operator: {second}", f"{where}[2]")
    top = _bound(argument, 3, second, where)
    if len(argument) > 4:
        raise bad("Too many terms in numeric range expression", f"{where}[4]")
    if not value < top:
        raise bad("Bottom must be less than top", where)
    return Numeric(value, first == ">=", top, second == "<=")


_ANYTHING_BUT_KINDS = ("equals-ignore-case", "prefix", "suffix", "wildcard")


def _anything_but(argument: Any, where: str) -> Operator:
    kind = "equals"
    if isinstance(argument, Mapping):
        if not argument:
            raise bad("Anything-But expression name not found", where)
        if len(argument) > 1:
            raise bad("Only one key allowed in match expression", where)
        ((kind, argument),) = argument.items()
        if kind not in _ANYTHING_BUT_KINDS:
            raise bad(f"Unsupported anything-but pattern: {kind}", child(where, kind))
        where = child(where, kind)
    if isinstance(argument, list):
        if not argument:
            raise bad("Empty arrays are not allowed", where)
        items = [(value, f"{where}[{i}]") for i, value in enumerate(argument)]
    elif isinstance(argument, str) or is_number(argument):
        items = [(argument, where)]
    else:
        raise bad("Value of anything-but must be an array or single string/number value.", where)
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
                raise bad(f"Cannot compare number : {show(value)}", at)
            values.append(number)
        else:
            raise bad(
                "Inside anything-but list, null, boolean, object and array values are not supported",
                at,
            )
    if len({isinstance(v, str) for v in values}) > 1:
        raise bad(
            "Inside anything but list, either all values are number or string, mixed type is not supported",
            where,
        )
    return tuple(dict.fromkeys(values))


def _check_anything_but_string(kind: str, value: Any, where: str) -> None:
    if not isinstance(value, str):
        if kind == "equals-ignore-case":
            raise bad(
                "Inside anything-but/equals-ignore-case list, only strings are supported", where
            )
        noun = "wildcard" if kind == "wildcard" else "prefix/suffix"
        raise bad(f"{noun} match pattern must be a string", where)
    if kind in ("prefix", "suffix") and not value:
        raise bad("Null prefix/suffix not allowed", where)
    if kind == "wildcard":
        try:
            wildcard_regex(value)
        except ValueError as exc:
            raise bad(str(exc), where) from exc


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
