"""Conditions of JSON and space-delimited filter patterns: parse once, evaluate per event (pure).

The grammar both kinds share (``&&`` binds tighter than ``||``; parentheses group)::

    expression := conjunction ("||" conjunction)*
    conjunction := primary ("&&" primary)*
    primary    := "(" expression ")" | condition
    condition  := selector ("=" | "!=" | "<" | "<=" | ">" | ">=") value
                | selector "IS" ("NULL" | "TRUE" | "FALSE") | selector "NOT" "EXISTS"
    value      := "quoted text" | %regex% | bare-word

A selector names what is compared: ``$.a.b[0]`` in a JSON pattern, a field name in a
space-delimited one; the caller parses it. A condition on a selector that names nothing
in the event is false, except ``NOT EXISTS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from s3batch.logs.errors import InvalidParameterException
from s3batch.logs.filter_values import MAX_REGEXES, Literal, Scalar, compile_regex

#: A parsed selector: a JSON path, or a field name.
Selector = tuple[str | int, ...] | str


class Missing:
    """What a selector gives when it names nothing in the event."""


#: The one :class:`Missing` value.
MISSING = Missing()
#: How an event is read: the value a selector names, or :data:`MISSING`.
Lookup = Callable[[Selector], object]

_OPERATORS = ("!=", "<=", ">=", "=", "<", ">")
_CHECKS = {("IS", "NULL"), ("IS", "TRUE"), ("IS", "FALSE"), ("NOT", "EXISTS")}
_STOP = set(' \t\n()=!<>&|"')


@dataclass(frozen=True)
class Condition:
    """``selector op literal`` or ``selector IS NULL`` / ``IS TRUE`` / ``IS FALSE`` / ``NOT EXISTS``."""

    selector: Selector
    operator: str
    literal: Literal | None = None

    def holds(self, lookup: Lookup) -> bool:
        """Whether the event satisfies the condition."""
        value = lookup(self.selector)
        if self.operator == "NOT EXISTS":
            return value is MISSING
        if value is MISSING or isinstance(value, dict | list):
            return False
        if self.operator.startswith("IS "):
            wanted = {"IS NULL": None, "IS TRUE": True, "IS FALSE": False}[self.operator]
            return value is wanted
        assert self.literal is not None
        scalar: Scalar = value  # type: ignore[assignment]
        if self.operator == "=":
            return self.literal.equals(scalar)
        if self.operator == "!=":
            return not self.literal.equals(scalar)
        return self.literal.compare(self.operator, scalar)


@dataclass(frozen=True)
class AllOf:
    """Every part holds (``&&``)."""

    parts: tuple[Expression, ...]

    def holds(self, lookup: Lookup) -> bool:
        """Whether every part holds."""
        return all(part.holds(lookup) for part in self.parts)


@dataclass(frozen=True)
class AnyOf:
    """Some part holds (``||``)."""

    parts: tuple[Expression, ...]

    def holds(self, lookup: Lookup) -> bool:
        """Whether some part holds."""
        return any(part.holds(lookup) for part in self.parts)


Expression = Condition | AllOf | AnyOf


def parse(text: str, selector: Callable[[str], Selector]) -> Expression:
    """Parse conditions; ``selector`` parses (and checks) each selector word.

    Raises:
        InvalidParameterException: the text is not a valid expression.
    """
    parser = _Parser(tokenize(text), selector)
    expression = parser.expression()
    if parser.position != len(parser.tokens):
        raise invalid(f"unexpected {parser.tokens[parser.position][1]!r}")
    if parser.regexes > MAX_REGEXES:
        raise invalid(f"at most {MAX_REGEXES} regular expressions are allowed")
    return expression


def tokenize(text: str) -> list[tuple[str, str]]:
    """``(kind, text)`` tokens: punct, op, quoted, regex, word."""
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(("punct", char))
            i += 1
        elif text.startswith(("&&", "||"), i):
            tokens.append(("punct", text[i : i + 2]))
            i += 2
        elif op := next((o for o in _OPERATORS if text.startswith(o, i)), None):
            tokens.append(("op", op))
            i += len(op)
        elif char == '"':
            value, i = _quoted(text, i + 1)
            tokens.append(("quoted", value))
        elif char == "%":
            end = text.find("%", i + 1)
            if end < 0:
                raise invalid("unterminated %regex%")
            tokens.append(("regex", text[i + 1 : end]))
            i = end + 1
        else:
            end = i
            while end < len(text) and text[end] not in _STOP:
                end += 1
            if end == i:
                raise invalid(f"unexpected {char!r}")
            tokens.append(("word", text[i:end]))
            i = end
    return tokens


def _quoted(text: str, i: int) -> tuple[str, int]:
    out: list[str] = []
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        elif text[i] == '"':
            return "".join(out), i + 1
        else:
            out.append(text[i])
            i += 1
    raise invalid("unterminated quoted value")


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], selector: Callable[[str], Selector]) -> None:
        self.tokens = tokens
        self.position = 0
        self.selector = selector
        self.regexes = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise invalid("the expression ends too early")
        self.position += 1
        return token

    def expression(self) -> Expression:
        parts = [self._conjunction()]
        while self._peek() == ("punct", "||"):
            self.position += 1
            parts.append(self._conjunction())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def _conjunction(self) -> Expression:
        parts = [self._primary()]
        while self._peek() == ("punct", "&&"):
            self.position += 1
            parts.append(self._primary())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def _primary(self) -> Expression:
        if self._peek() == ("punct", "("):
            self.position += 1
            inner = self.expression()
            if self._take() != ("punct", ")"):
                raise invalid("a parenthesis is not closed")
            return inner
        kind, word = self._take()
        if kind != "word":
            raise invalid(f"expected a selector, found {word!r}")
        selector = self.selector(word)
        kind, text = self._take()
        if kind == "word" and text in ("IS", "NOT"):
            check = (text, self._take()[1])
            if check not in _CHECKS:
                raise invalid(f"unknown check {' '.join(check)!r}")
            return Condition(selector, " ".join(check))
        if kind != "op":
            raise invalid(f"expected a comparison after {word!r}, found {text!r}")
        return Condition(selector, text, self._literal(text))

    def _literal(self, operator: str) -> Literal:
        kind, text = self._take()
        if kind == "regex":
            self.regexes += 1
            if operator not in ("=", "!="):
                raise invalid("a regular expression compares with = or != only")
            return Literal(text, compile_regex(text))
        if kind not in ("quoted", "word"):
            raise invalid(f"expected a value, found {text!r}")
        literal = Literal(text)
        if operator not in ("=", "!=") and literal.numeric is None:
            raise invalid(f"{operator} compares with a number, not {text!r}")
        return literal


def invalid(why: str) -> InvalidParameterException:
    """An InvalidParameterException for a malformed pattern, saying why."""
    return InvalidParameterException(f"Invalid filter pattern: {why}")
