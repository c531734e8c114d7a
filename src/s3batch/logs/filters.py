"""FilterLogEvents patterns, compiled once per call (pure).

Three kinds, as CloudWatch Logs documents them (matching is case-sensitive):

* terms for unstructured messages (here): the empty pattern matches every event;
  ``ERROR Exception`` needs every term; ``"ERROR 401"`` a quoted phrase exactly (``\\"``
  and ``\\\\`` escape); ``?ERROR ?WARN`` at least one of the ``?`` terms; ``-DEBUG`` not
  the term; ``%regex%`` a regular expression found in the message (also with ``?``/``-``).
  Terms of different kinds combine with AND: ``job ?ERROR ?WARN -retry``;
* ``{ $.field = value && … }`` for JSON messages (:mod:`.filter_json`);
* ``[field, …, field = value]`` for space-delimited messages (:mod:`.filter_fields`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from s3batch.logs.errors import InvalidParameterException
from s3batch.logs.filter_fields import compile_delimited
from s3batch.logs.filter_json import compile_json
from s3batch.logs.filter_values import MAX_REGEXES, compile_regex

#: The longest pattern FilterLogEvents accepts (botocore's ``FilterPattern`` max).
MAX_PATTERN = 1024

#: A term: text that must appear, or a regular expression that must be found.
Term = str | re.Pattern[str]


class Matcher(Protocol):
    """A compiled filter pattern of any kind."""

    def matches(self, message: str) -> bool:
        """Whether an event's message satisfies the pattern."""
        ...


@dataclass(frozen=True)
class FilterPattern:
    """Terms that must all appear, of which one must, and that must not."""

    required: tuple[Term, ...] = ()
    any_of: tuple[Term, ...] = ()
    excluded: tuple[Term, ...] = ()

    def matches(self, message: str) -> bool:
        """Whether an event's message satisfies the pattern."""
        return (
            all(_found(term, message) for term in self.required)
            and (not self.any_of or any(_found(term, message) for term in self.any_of))
            and not any(_found(term, message) for term in self.excluded)
        )


def _found(term: Term, message: str) -> bool:
    return term in message if isinstance(term, str) else term.search(message) is not None


#: The pattern that matches every event.
MATCH_ALL = FilterPattern()


def compile_pattern(text: str | None) -> Matcher:
    """Parse a filter pattern of any kind.

    Raises:
        InvalidParameterException: the pattern is malformed or too long.
    """
    if text is None or not text.strip():
        return MATCH_ALL
    if len(text) > MAX_PATTERN:
        raise InvalidParameterException(f"filterPattern must be at most {MAX_PATTERN} characters")
    first = text.strip()[0]
    if first == "{":
        return compile_json(text)
    if first == "[":
        return compile_delimited(text)
    groups: dict[str, list[Term]] = {"": [], "?": [], "-": []}
    for operator, term in _terms(text):
        groups[operator].append(term)
    regexes = sum(not isinstance(t, str) for terms in groups.values() for t in terms)
    if regexes > MAX_REGEXES:
        raise InvalidParameterException(
            f"Invalid filter pattern: at most {MAX_REGEXES} regular expressions are allowed"
        )
    return FilterPattern(tuple(groups[""]), tuple(groups["?"]), tuple(groups["-"]))


def _terms(text: str) -> list[tuple[str, Term]]:
    """The pattern's ``(operator, term)`` pairs; operator is ``""``, ``"?"`` or ``"-"``."""
    terms: list[tuple[str, Term]] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return terms
        operator = text[position] if text[position] in "?-" else ""
        position += len(operator)
        term, position = _term(text, position)
        if not term:
            raise InvalidParameterException("Invalid filter pattern: a term is empty")
        terms.append((operator, term))


def _term(text: str, position: int) -> tuple[Term, int]:
    """One term starting at ``position`` (quoted, ``%regex%`` or bare) and the position after it."""
    if position < len(text) and text[position] == '"':
        return _phrase(text, position + 1)
    if position < len(text) and text[position] == "%":
        end = text.find("%", position + 1)
        if end < 0:
            raise InvalidParameterException("Invalid filter pattern: unterminated %regex%")
        return compile_regex(text[position + 1 : end]), end + 1
    end = position
    while end < len(text) and not text[end].isspace():
        if text[end] == '"':
            raise InvalidParameterException(
                "Invalid filter pattern: a quote may only start a term (quote the whole term)"
            )
        end += 1
    return text[position:end], end


def _phrase(text: str, position: int) -> tuple[str, int]:
    """A quoted phrase whose opening quote ends before ``position``."""
    out: list[str] = []
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text) and text[position + 1] in '"\\':
            out.append(text[position + 1])
            position += 2
            continue
        if char == '"':
            after = position + 1
            if after < len(text) and not text[after].isspace():
                raise InvalidParameterException(
                    "Invalid filter pattern: a quoted phrase must be followed by a space"
                )
            return "".join(out), after
        out.append(char)
        position += 1
    raise InvalidParameterException("Invalid filter pattern: unterminated quoted phrase")
