"""Compile many rules' event patterns into one matching structure (pure).

Registration (``add``) does the work once: each pattern's branches (its ``$or``
combinations) become conjunctions of conditions; identical conditions (same path, same
alternatives) are shared by all rules, and each condition's operators are filed in the
index of its path:

- a dict of exact values (numbers by value, IP literals by address, ``exists: true`` hits all);
- prefix / suffix tables (plain and case-folded), probed once per distinct key length;
- a dict of case-folded values for ``equals-ignore-case``;
- CIDR tables, one dict of network addresses per prefix length;
- a short scan list for numeric ranges, ``anything-but`` and wildcards.

Matching (``matches``) flattens the event once into ``path -> leaves`` (skipping subtrees
no rule names), looks every leaf up in its path's index, counts hits per branch to find the
candidates whose every required condition was hit, then confirms each candidate.

Arrays follow event-ruler's ``rulesForJSONEvent``, the array-consistent matching AWS
documents for EventBridge's engine: a field matches if any element of an event array
matches, and nested arrays are crushed into their parent path, but one branch may not
take two fields from *different elements of the same array*
(``items.name`` and ``items.size`` must come from one element). Each leaf therefore
carries its membership (array, index) for every array of objects/arrays it sits in.

``exists: false`` holds when no leaf at the path is consistent with the fields chosen
for the conditions sorted before it (event-ruler walks a branch's fields in sorted-name
order); so with no arrays of objects it simply means "no leaf here", ``[]`` and ``{}``
included.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from s3batch.events.errors import ValidationException
from s3batch.events.operators import (
    Cidr,
    EqualsIgnoreCase,
    Exact,
    Exists,
    Operator,
    Prefix,
    Scalar,
    Suffix,
    exact_key,
    fold,
    ip_value,
)
from s3batch.events.patterns import Pattern, parse

#: Where a leaf sits in the event's arrays: ``(array id, element index)`` pairs.
Membership = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class _Leaf:
    value: Scalar
    membership: Membership


@dataclass
class _Condition:
    id: int
    path: str
    operators: tuple[Operator, ...]
    absent_ok: bool
    refs: int = 0


@dataclass(frozen=True)
class _Branch:
    rule_id: str
    conditions: tuple[_Condition, ...]
    required: int


class _SetIndex:
    """Condition ids filed under hashable keys."""

    def __init__(self) -> None:
        self.by_key: dict[Any, set[int]] = {}

    def add(self, key: Any, cid: int) -> None:
        self.by_key.setdefault(key, set()).add(cid)

    def remove(self, key: Any, cid: int) -> None:
        ids = self.by_key.get(key)
        if ids is not None:
            ids.discard(cid)
            if not ids:
                del self.by_key[key]

    def get(self, key: Any) -> set[int]:
        return self.by_key.get(key, set())


class _AffixTable(_SetIndex):
    """Prefixes (or suffixes) by text; a value is probed once per distinct length."""

    def __init__(self, suffix: bool) -> None:
        super().__init__()
        self.suffix = suffix
        self.lengths: Counter[int] = Counter()

    def add(self, key: Any, cid: int) -> None:
        if key not in self.by_key:
            self.lengths[len(key)] += 1
        super().add(key, cid)

    def remove(self, key: Any, cid: int) -> None:
        super().remove(key, cid)
        if key not in self.by_key and self.lengths[len(key)]:
            self.lengths[len(key)] -= 1
            if not self.lengths[len(key)]:
                del self.lengths[len(key)]

    def hits(self, text: str) -> Iterator[int]:
        for length in self.lengths:
            if length <= len(text):
                yield from self.get(text[len(text) - length :] if self.suffix else text[:length])


class _FieldIndex:
    """Everything the rules test at one path, arranged for lookup by leaf value."""

    def __init__(self) -> None:
        self.exact = _SetIndex()
        self.folded = _SetIndex()
        self.prefix, self.prefix_ci = _AffixTable(False), _AffixTable(False)
        self.suffix, self.suffix_ci = _AffixTable(True), _AffixTable(True)
        self.networks: dict[tuple[int, int], _SetIndex] = {}
        self.present: set[int] = set()
        self.scans: list[tuple[Operator, int]] = []

    def add(self, op: Operator, cid: int) -> None:
        """File one operator of a condition (``exists: false`` is decided per branch, not here)."""
        if op == Exists(False):
            return
        slot = self._slot(op)
        if slot is None:
            self.scans.append((op, cid))
        elif isinstance(slot, set):
            slot.add(cid)
        else:
            slot[0].add(slot[1], cid)

    def remove(self, op: Operator, cid: int) -> None:
        """Unfile one operator of a condition."""
        if op == Exists(False):
            return
        slot = self._slot(op)
        if slot is None:
            self.scans.remove((op, cid))
        elif isinstance(slot, set):
            slot.discard(cid)
        else:
            slot[0].remove(slot[1], cid)

    def _slot(self, op: Operator) -> set[int] | tuple[_SetIndex, Any] | None:
        if isinstance(op, Exact):
            return self.exact, exact_key(op.value)
        if isinstance(op, EqualsIgnoreCase):
            return self.folded, fold(op.value)
        if isinstance(op, Prefix):
            return (self.prefix_ci, fold(op.value)) if op.ignore_case else (self.prefix, op.value)
        if isinstance(op, Suffix):
            return (self.suffix_ci, fold(op.value)) if op.ignore_case else (self.suffix, op.value)
        if isinstance(op, Cidr):
            table = self.networks.setdefault(
                (op.network.version, op.network.prefixlen), _SetIndex()
            )
            return table, int(op.network.network_address)
        if isinstance(op, Exists):
            return self.present
        return None

    def lookup(self, value: Scalar) -> set[int]:
        """Ids of the conditions this leaf value satisfies."""
        found = set(self.present)
        found |= self.exact.get(exact_key(value))
        if isinstance(value, str):
            self._strings(value, found)
        for op, cid in self.scans:
            if cid not in found and op.test(value):
                found.add(cid)
        return found

    def _strings(self, value: str, found: set[int]) -> None:
        found.update(self.prefix.hits(value))
        found.update(self.suffix.hits(value))
        if self.folded.by_key or self.prefix_ci.by_key or self.suffix_ci.by_key:
            folded = fold(value)
            found |= self.folded.get(folded)
            found.update(self.prefix_ci.hits(folded))
            found.update(self.suffix_ci.hits(folded))
        address = ip_value(value) if self.networks else None
        if address is not None:
            version, number = address
            width = 32 if version == 4 else 128
            for (net_version, bits), table in self.networks.items():
                if net_version == version:
                    found |= table.get(number >> (width - bits) << (width - bits))


class Matcher:
    """Many rules' patterns compiled together; ``matches`` finds every rule an event matches."""

    def __init__(self) -> None:
        self._fields: dict[str, _FieldIndex] = {}
        self._conditions: dict[tuple[str, frozenset[Operator]], _Condition] = {}
        self._steps: Counter[str] = Counter()
        self._branches: dict[int, _Branch] = {}
        self._rules: dict[str, list[int]] = {}
        self._gates: dict[int, set[int]] = defaultdict(set)
        self._ungated: set[int] = set()
        self._ids = itertools.count()

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def __len__(self) -> int:
        return len(self._rules)

    def add(self, rule_id: str, pattern: Pattern | str | Mapping[str, Any]) -> None:
        """Compile a rule's pattern in (replacing any earlier pattern of that rule).

        Raises:
            InvalidEventPatternException: the pattern (given as text or JSON) is not valid.
        """
        parsed = pattern if isinstance(pattern, Pattern) else parse(pattern)
        self.remove(rule_id)
        self._rules[rule_id] = [self._add_branch(rule_id, branch) for branch in parsed.branches]

    def remove(self, rule_id: str) -> None:
        """Take a rule out; unknown ids are ignored."""
        for bid in self._rules.pop(rule_id, ()):
            branch = self._branches.pop(bid)
            self._ungated.discard(bid)
            for condition in branch.conditions:
                self._gates[condition.id].discard(bid)
                self._release(condition)

    def matches(self, event: Mapping[str, Any]) -> set[str]:
        """Ids of the rules whose pattern matches the event.

        Raises:
            ValidationException: the event is not a JSON object.
        """
        if not isinstance(event, Mapping):
            raise ValidationException("Event must be a JSON object")
        leaves = self._flatten(event)
        hits = self._hits(leaves)
        matched: set[str] = set()
        for bid in self._candidates(hits):
            branch = self._branches[bid]
            if branch.rule_id not in matched and _satisfiable(branch, hits, leaves):
                matched.add(branch.rule_id)
        return matched

    def _add_branch(self, rule_id: str, branch: tuple[Any, ...]) -> int:
        bid = next(self._ids)
        conditions = tuple(self._intern(c.path, c.operators) for c in branch)
        gating = [c for c in conditions if not c.absent_ok]
        self._branches[bid] = _Branch(rule_id, conditions, len(gating))
        for condition in gating:
            self._gates[condition.id].add(bid)
        if not gating:
            self._ungated.add(bid)
        return bid

    def _intern(self, path: str, operators: tuple[Operator, ...]) -> _Condition:
        key = (path, frozenset(operators))
        condition = self._conditions.get(key)
        if condition is None:
            absent_ok = Exists(False) in operators
            condition = _Condition(next(self._ids), path, operators, absent_ok)
            self._conditions[key] = condition
            index = self._fields.setdefault(path, _FieldIndex())
            for op in operators:
                index.add(op, condition.id)
            self._steps.update(_prefixes(path))
        condition.refs += 1
        return condition

    def _release(self, condition: _Condition) -> None:
        condition.refs -= 1
        if condition.refs:
            return
        del self._conditions[(condition.path, frozenset(condition.operators))]
        self._gates.pop(condition.id, None)
        index = self._fields[condition.path]
        for op in condition.operators:
            index.remove(op, condition.id)
        self._steps.subtract(_prefixes(condition.path))
        for step in _prefixes(condition.path):
            if not self._steps[step]:
                del self._steps[step]
        if not self._steps[condition.path]:
            self._fields.pop(condition.path, None)

    def _flatten(self, event: Mapping[str, Any]) -> dict[str, list[_Leaf]]:
        """Leaves of the event by dotted path, with their array membership (used paths only)."""
        leaves: dict[str, list[_Leaf]] = defaultdict(list)
        arrays = itertools.count()

        def walk(value: Any, path: str, membership: Membership) -> None:
            if isinstance(value, Mapping):
                for key, child in value.items():
                    step = f"{path}.{key}" if path else str(key)
                    if step in self._steps:
                        walk(child, step, membership)
            elif isinstance(value, list):
                array = next(arrays)
                for i, element in enumerate(value):
                    nested = isinstance(element, (Mapping, list))
                    walk(element, path, membership + ((array, i),) if nested else membership)
            else:
                leaves[path].append(_Leaf(value, membership))

        walk(event, "", ())
        return leaves

    def _hits(self, leaves: dict[str, list[_Leaf]]) -> dict[int, set[Membership]]:
        """For each satisfied condition, the distinct memberships of the leaves satisfying it."""
        hits: dict[int, set[Membership]] = defaultdict(set)
        for path, found in leaves.items():
            index = self._fields.get(path)
            if index is None:
                continue
            for leaf in found:
                for cid in index.lookup(leaf.value):
                    hits[cid].add(leaf.membership)
        return hits

    def _candidates(self, hits: dict[int, set[Membership]]) -> list[int]:
        """Branches whose every required condition was hit by some leaf."""
        counts: Counter[int] = Counter()
        for cid in hits:
            counts.update(self._gates.get(cid, ()))
        ready = [bid for bid, n in counts.items() if n == self._branches[bid].required]
        return ready + list(self._ungated)


def _prefixes(path: str) -> list[str]:
    steps = path.split(".")
    return [".".join(steps[: i + 1]) for i in range(len(steps))]


def _merge(constraints: dict[int, int], membership: Membership) -> dict[int, int] | None:
    """Constraints extended by a leaf's membership, or None if it is in another element of a shared array."""
    merged: dict[int, int] | None = None
    for array, index in membership:
        seen = constraints.get(array)
        if seen is None:
            merged = dict(constraints) if merged is None else merged
            merged[array] = index
        elif seen != index:
            return None
    return constraints if merged is None else merged


def _satisfiable(
    branch: _Branch, hits: dict[int, set[Membership]], leaves: dict[str, list[_Leaf]]
) -> bool:
    """Whether the branch's conditions can take array-consistent leaves (absences checked in order)."""
    conditions = branch.conditions
    failed: set[tuple[int, tuple[tuple[int, int], ...]]] = set()

    def search(i: int, constraints: dict[int, int]) -> bool:
        if i == len(conditions):
            return True
        key = (i, tuple(sorted(constraints.items())))
        if key in failed:
            return False
        condition = conditions[i]
        for membership in hits.get(condition.id, ()):
            merged = _merge(constraints, membership)
            if merged is not None and search(i + 1, merged):
                return True
        if (
            condition.absent_ok
            and _absent(condition.path, constraints, leaves)
            and search(i + 1, constraints)
        ):
            return True
        failed.add(key)
        return False

    return search(0, {})


def _absent(path: str, constraints: dict[int, int], leaves: dict[str, list[_Leaf]]) -> bool:
    return all(_merge(constraints, leaf.membership) is None for leaf in leaves.get(path, ()))


def matches_pattern(pattern: Pattern | str | Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether one pattern matches one event (TestEventPattern).

    Raises:
        InvalidEventPatternException: the pattern is not valid.
        ValidationException: the event is not a JSON object.
    """
    matcher = Matcher()
    matcher.add("pattern", pattern)
    return bool(matcher.matches(event))
