"""The values a filter pattern compares with: text with ``*`` wildcards, numbers, ``%regex%`` (pure).

CloudWatch Logs accepts a restricted regular-expression syntax between ``%`` signs:
letters, digits, the symbols ``: _ # = @ / ; , -``, the operators ``^ $ ? [ ] { } | \\ * + .``
and nothing else (no parentheses, no multi-byte characters), and at most two regular
expressions in one pattern. Spaces are accepted too (the documented list omits them, but
a JSON value often needs one). A regular expression matches when it is found anywhere in
the text, as ``re.search`` does.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from s3batch.logs.errors import InvalidParameterException

#: Characters a ``%regex%`` may hold besides letters and digits (CloudWatch's list).
REGEX_SYMBOLS = frozenset(":_#=@/;,-^$?[]{}|\\*+. ")
#: The most regular expressions one filter pattern may hold.
MAX_REGEXES = 2

#: A JSON value as ``json.loads`` gives it, or a space-delimited field's text.
Scalar = str | int | float | bool | None


def compile_regex(body: str) -> re.Pattern[str]:
    """A ``%…%`` body as a compiled expression.

    Raises:
        InvalidParameterException: it uses characters CloudWatch does not allow, or does not compile.
    """
    bad = sorted({c for c in body if not (c.isascii() and c.isalnum()) and c not in REGEX_SYMBOLS})
    if bad or not body:
        shown = "".join(bad) or "an empty expression"
        raise InvalidParameterException(
            f"Invalid regular expression %{body}%: {shown} not supported"
        )
    try:
        return re.compile(body)
    except re.error as exc:
        raise InvalidParameterException(f"Invalid regular expression %{body}%: {exc}") from exc


def wildcard(text: str) -> re.Pattern[str]:
    """Text whose ``*`` stands for any run of characters, matched whole."""
    return re.compile(".*".join(re.escape(part) for part in text.split("*")), re.DOTALL)


def number(text: str) -> float | None:
    """The number a literal spells (integer, decimal or scientific), else None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and not text.lower().startswith(("inf", "nan")) else None


@dataclass(frozen=True)
class Literal:
    """The right-hand side of a comparison: text (with ``*``), a number, or a regex."""

    text: str
    regex: re.Pattern[str] | None = None

    @property
    def numeric(self) -> float | None:
        """The literal as a number, when it is one."""
        return None if self.regex is not None else number(self.text)

    def equals(self, value: Scalar) -> bool:
        """``=``: the value is this number, matches this regex, or this text (``*`` wildcards)."""
        if self.regex is not None:
            return isinstance(value, str) and self.regex.search(value) is not None
        numeric = self.numeric
        if numeric is not None and _is_number(value):
            return float(value) == numeric  # type: ignore[arg-type]
        return wildcard(self.text).fullmatch(_text(value)) is not None

    def compare(self, operator: str, value: Scalar) -> bool:
        """``<``, ``<=``, ``>``, ``>=`` on numbers (a value that is not a number never matches)."""
        numeric = self.numeric
        if numeric is None or not _is_number(value):
            return False
        left = float(value)  # type: ignore[arg-type]
        return {
            "<": left < numeric,
            "<=": left <= numeric,
            ">": left > numeric,
            ">=": left >= numeric,
        }[operator]


def _is_number(value: Scalar) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        return True
    return number(value) is not None


def _text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)
