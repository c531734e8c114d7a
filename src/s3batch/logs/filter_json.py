"""JSON filter patterns: ``{ $.user.id = 1 && $.errorCode IS NULL }`` (pure).

An event matches when its message is a JSON object and the conditions hold (see
:mod:`.filter_expr` for the grammar). A selector is ``$`` followed by ``.name`` and
``[index]`` steps; it names nothing when a step is missing or the message is not JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from s3batch.logs.filter_expr import MISSING, Expression, Selector, invalid, parse

_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


def selector(word: str) -> Selector:
    """``$.a.b[0]`` as the path ``("a", "b", 0)``.

    Raises:
        InvalidParameterException: the word is not a JSON selector.
    """
    if not word.startswith("$"):
        raise invalid(f"a JSON selector starts with $, not {word!r}")
    path: list[str | int] = []
    position = 1
    while position < len(word):
        step = _STEP.match(word, position)
        if step is None:
            raise invalid(f"malformed JSON selector {word!r}")
        path.append(step.group(1) if step.group(1) is not None else int(step.group(2)))
        position = step.end()
    if not path:
        raise invalid("a JSON selector names a field: $.name")
    return tuple(path)


@dataclass(frozen=True)
class JsonPattern:
    """A compiled ``{ … }`` pattern."""

    expression: Expression

    def matches(self, message: str) -> bool:
        """Whether the message is a JSON object satisfying the conditions."""
        try:
            document = json.loads(message)
        except ValueError:
            return False
        if not isinstance(document, dict):
            return False
        return self.expression.holds(lambda path: _lookup(document, path))


def compile_json(text: str) -> JsonPattern:
    """Parse ``{ conditions }``.

    Raises:
        InvalidParameterException: it is malformed.
    """
    body = text.strip()
    if not body.endswith("}"):
        raise invalid("a JSON pattern ends with }")
    return JsonPattern(parse(body[1:-1], selector))


def _lookup(document: object, path: Selector) -> object:
    value = document
    for step in path:
        if isinstance(step, int) and isinstance(value, list) and step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return MISSING
    return value
