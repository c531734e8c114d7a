"""FilterLogEvents patterns for unstructured messages, compiled once per call (pure).

Supported, as CloudWatch Logs documents them (matching is case-sensitive):

* the empty pattern matches every event;
* ``ERROR Exception``: every term must appear in the message;
* ``"ERROR 401"``: a quoted phrase must appear exactly (``\\"`` and ``\\\\`` escape);
* ``?ERROR ?WARN``: at least one of the ``?`` terms must appear;
* ``-DEBUG``: the term must not appear (``-DEBUG`` alone matches every other event).

Terms of different kinds combine with AND: ``job ?ERROR ?WARN -retry`` needs ``job``, one
of ``ERROR``/``WARN``, and no ``retry``. JSON (``{ $.x = 1 }``), space-delimited
(``[ip, user, ...]``) and regex (``%…%``) patterns are refused with
InvalidParameterException rather than matching everything, as moto does.
"""

from __future__ import annotations

from dataclasses import dataclass

from s3batch.logs.errors import InvalidParameterException

#: The longest pattern FilterLogEvents accepts (botocore's ``FilterPattern`` max).
MAX_PATTERN = 1024
_NOT_YET = {
    "{": "JSON filter patterns ({ $.field = ... })",
    "[": "space-delimited filter patterns ([field, ...])",
    "%": "regular-expression filter patterns (%...%)",
}


@dataclass(frozen=True)
class FilterPattern:
    """A compiled pattern: terms that must all appear, of which one must, and that must not."""

    required: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    def matches(self, message: str) -> bool:
        """Whether an event's message satisfies the pattern."""
        return (
            all(term in message for term in self.required)
            and (not self.any_of or any(term in message for term in self.any_of))
            and not any(term in message for term in self.excluded)
        )


#: The pattern that matches every event.
MATCH_ALL = FilterPattern()


def compile_pattern(text: str | None) -> FilterPattern:
    """Parse a filter pattern.

    Raises:
        InvalidParameterException: the pattern is malformed, too long, or of a kind
            s3batch does not support yet.
    """
    if text is None or not text.strip():
        return MATCH_ALL
    if len(text) > MAX_PATTERN:
        raise InvalidParameterException(f"filterPattern must be at most {MAX_PATTERN} characters")
    kind = _NOT_YET.get(text.strip()[0])
    if kind is not None:
        raise InvalidParameterException(f"s3batch does not support {kind} yet")
    groups: dict[str, list[str]] = {"": [], "?": [], "-": []}
    for operator, term in _terms(text):
        groups[operator].append(term)
    return FilterPattern(tuple(groups[""]), tuple(groups["?"]), tuple(groups["-"]))


def _terms(text: str) -> list[tuple[str, str]]:
    """The pattern's ``(operator, term)`` pairs; operator is ``""``, ``"?"`` or ``"-"``."""
    terms: list[tuple[str, str]] = []
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


def _term(text: str, position: int) -> tuple[str, int]:
    """One term starting at ``position`` (quoted or bare) and the position after it."""
    if position < len(text) and text[position] == '"':
        return _phrase(text, position + 1)
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
