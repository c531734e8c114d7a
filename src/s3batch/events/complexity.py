"""How non-deterministic a pattern's wildcards make matching, and the limit EventBridge sets (pure).

EventBridge refuses a pattern whose wildcards are "too complex". The measure is
event-ruler's ``MachineComplexityEvaluator``: compile a field's wildcard values into one
automaton over the bytes of the quoted JSON string (``"dir/*.png"``), and take, over every
possible input, the largest number of wildcard-pattern prefixes that match the input read
so far, i.e. how many automaton states a value can keep alive at once. A pattern such as
``*:*:*:*:*:event-bus/*`` lets an input of colons keep many of them alive.

event-ruler leaves the threshold to its user; its README suggests 10 per rule, and AWS
rejects ``*:*:*:*:*:event-bus/*`` (LocalStack's AWS-validated tests), which scores 11 here,
while typical wildcards (``arn:aws:s3:::bucket/*``, ``*.png``, ``dir/*/x/*``) score 2 to 4.
Only ``wildcard`` values count, not ``anything-but`` wildcards, as in the evaluator.

Fields share an automaton as in event-ruler's machine: wildcard values of the same path
that follow the same preceding conditions (fields are visited in sorted-name order).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from s3batch.events.errors import InvalidEventPatternException
from s3batch.events.operators import Operator, Wildcard

#: Most wildcard prefixes one value may keep matching at once (event-ruler README's per-rule figure).
MAX_COMPLEXITY = 10

#: A token of a wildcard pattern: a byte, or STAR for ``*``.
STAR = -1
#: Stands for every byte no pattern names.
_OTHER = 256


class _Field(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def operators(self) -> tuple[Operator, ...]: ...


def check_complexity(branches: Iterable[Sequence[_Field]]) -> None:
    """Refuse a pattern whose wildcards make matching too non-deterministic.

    Raises:
        InvalidEventPatternException: "Rule is too complex", naming the field.
    """
    for (_, path), wildcards in _machines(branches).items():
        score = complexity(wildcards)
        if score > MAX_COMPLEXITY:
            raise InvalidEventPatternException(
                f"Rule is too complex: the wildcards of {path!r} let one value match "
                f"{score} wildcard prefixes at once (at most {MAX_COMPLEXITY}); use fewer "
                "wildcards, or fewer repeated characters after a wildcard",
                where=f"$.{path}",
            )


def _machines(branches: Iterable[Sequence[_Field]]) -> dict[tuple[object, str], set[str]]:
    """Wildcard values per automaton, keyed by (preceding conditions, path)."""
    machines: dict[tuple[object, str], set[str]] = {}
    for branch in branches:
        for i, field in enumerate(branch):
            found = {op.value for op in field.operators if isinstance(op, Wildcard)}
            if found:
                before = tuple((f.path, f.operators) for f in branch[:i])
                machines.setdefault((before, field.path), set()).update(found)
    return machines


def tokens(wildcard: str) -> tuple[int, ...]:
    """The quoted value as event-ruler compiles it: UTF-8 bytes, with STAR for each ``*``."""
    out: list[int] = [0x22]
    chars = iter(wildcard)
    for ch in chars:
        if ch == "*":
            out.append(STAR)
        else:
            out.extend((next(chars) if ch == "\\" else ch).encode())
    out.append(0x22)
    return tuple(out)


def complexity(wildcards: Iterable[str]) -> int:
    """The most prefixes of these wildcard values (quoted) that match one input at once."""
    return most_prefixes([tokens(w) for w in sorted(set(wildcards))])


def most_prefixes(patterns: list[tuple[int, ...]], cap: int = 10 * MAX_COMPLEXITY) -> int:
    """The most non-empty pattern prefixes one input matches at once (explored up to ``cap``)."""
    alphabet = sorted({t for p in patterns for t in p if t != STAR}) + [_OTHER]
    start = frozenset(_closure(patterns, {(i, 0) for i in range(len(patterns))}))
    seen, pending, worst = {start}, [start], 0
    while pending and worst <= cap:
        states = pending.pop()
        for byte in alphabet:
            after = frozenset(_step(patterns, states, byte))
            if not after:
                continue
            worst = max(worst, len(after))  # each state is one matching prefix (length >= 1)
            if after not in seen:
                seen.add(after)
                pending.append(after)
    return worst


def _step(
    patterns: list[tuple[int, ...]], states: frozenset[tuple[int, int]], byte: int
) -> set[tuple[int, int]]:
    """The prefixes matching the input once ``byte`` is read."""
    moved = set()
    for i, k in states:
        pattern = patterns[i]
        if k < len(pattern) and pattern[k] == byte:
            moved.add((i, k + 1))
        if k and pattern[k - 1] == STAR:
            moved.add((i, k))  # the star takes the byte
    return _closure(patterns, moved)


def _closure(patterns: list[tuple[int, ...]], states: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Add the prefixes that end in a star matching nothing."""
    todo = list(states)
    while todo:
        i, k = todo.pop()
        if k < len(patterns[i]) and patterns[i][k] == STAR and (i, k + 1) not in states:
            states.add((i, k + 1))
            todo.append((i, k + 1))
    return states
