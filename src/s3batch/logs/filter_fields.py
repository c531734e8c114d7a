"""Space-delimited filter patterns: ``[ip, user, ..., status = 4*, bytes > 1000]`` (pure).

The message is split into fields at spaces; text in double quotes or square brackets is
one field (without its quotes or brackets). Each pattern item names the field at its
position, optionally with conditions on it (see :mod:`.filter_expr`); ``...`` stands for
any number of fields. Without ``...`` the message must have exactly as many fields as the
pattern has items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from s3batch.logs.filter_expr import MISSING, Expression, Selector, invalid, parse, tokenize

#: The item that stands for any number of fields.
ELLIPSIS = "..."
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FIELD = re.compile(r'"([^"]*)"|\[([^\]]*)\]|(\S+)')


def field_name(word: str) -> Selector:
    """A field name as a selector.

    Raises:
        InvalidParameterException: it is not a name.
    """
    if not _NAME.fullmatch(word):
        raise invalid(f"{word!r} is not a field name")
    return word


@dataclass(frozen=True)
class Item:
    """One pattern position: a named field with optional conditions, or ``...``."""

    name: str
    condition: Expression | None = None


@dataclass(frozen=True)
class DelimitedPattern:
    """A compiled ``[ … ]`` pattern."""

    items: tuple[Item, ...]

    def matches(self, message: str) -> bool:
        """Whether the message's fields line up with the items and every condition holds."""
        fields = [next(g for g in m.groups() if g is not None) for m in _FIELD.finditer(message)]
        return any(self._holds(bound) for bound in _bindings(self.items, fields))

    def _holds(self, bound: dict[str, str]) -> bool:
        def lookup(name: Selector) -> object:
            return bound.get(str(name), MISSING)

        return all(i.condition is None or i.condition.holds(lookup) for i in self.items)


def compile_delimited(text: str) -> DelimitedPattern:
    """Parse ``[item, item, ...]``.

    Raises:
        InvalidParameterException: it is malformed.
    """
    body = text.strip()
    if not body.endswith("]"):
        raise invalid("a space-delimited pattern ends with ]")
    parts = [part.strip() for part in _split(body[1:-1])]
    if not any(parts):
        raise invalid("a space-delimited pattern names at least one field")
    return DelimitedPattern(tuple(_item(part) for part in parts))


def _split(body: str) -> list[str]:
    """Split at commas outside quotes and %regex%."""
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for char in body:
        if quote:
            quote = "" if char == quote else quote
        elif char in '"%':
            quote = char
        elif char == ",":
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _item(text: str) -> Item:
    if text == ELLIPSIS:
        return Item(ELLIPSIS)
    tokens = tokenize(text)
    if not tokens or tokens[0][0] != "word":
        raise invalid(f"each item of a space-delimited pattern starts with a field name: {text!r}")
    name = str(field_name(tokens[0][1]))
    return Item(name, parse(text, field_name) if len(tokens) > 1 else None)


def _bindings(items: tuple[Item, ...], fields: list[str]) -> list[dict[str, str]]:
    """Every way the items line up with the fields (``...`` takes zero or more)."""
    if not items:
        return [{}] if not fields else []
    first, rest = items[0], items[1:]
    if first.name == ELLIPSIS:
        return [b for skip in range(len(fields) + 1) for b in _bindings(rest, fields[skip:])]
    if not fields:
        return []
    return [{first.name: fields[0], **b} for b in _bindings(rest, fields[1:])]
