"""Compile many rules' event patterns into one matching structure (pure).

Registration (``add``) does the work once: each pattern's branches (its ``$or``
combinations) become conjunctions of conditions; identical conditions (same path, same
alternatives) are shared by all rules, and each condition's operators are filed in the
:class:`~s3batch.events.field_index.FieldIndex` of its path. The paths form a trie, and
each branch is filed under one of its conditions (the one fewest branches shared when it
was added), its anchor.

Matching (``matches``) walks the event once along the trie (skipping subtrees no rule
names), looks every leaf up in its path's index to get the set of satisfied conditions,
and then only looks at branches anchored at one of them: a branch matches when its
needed conditions are a subset of that set (one C-level set comparison), and each of its
``exists: false`` conditions was either satisfied or has no leaf.

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
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Set
from dataclasses import dataclass
from typing import Any

from s3batch.events.errors import ValidationException
from s3batch.events.field_index import FieldIndex
from s3batch.events.operators import Exists, Operator, Scalar
from s3batch.events.patterns import Pattern, parse

#: Where a leaf sits in the event's arrays: ``(array id, element index)`` pairs.
Membership = tuple[tuple[int, int], ...]


class _Step:
    """One key of the trie of paths the rules name; ``index`` is set where a condition tests."""

    __slots__ = ("path", "children", "index", "refs")

    def __init__(self, path: str) -> None:
        self.path = path
        self.children: dict[str, _Step] = {}
        self.index: FieldIndex | None = None
        self.refs = 0


#: A leaf of the event at a path some rule names: its step, value and array membership.
_Leaf = tuple[_Step, Scalar, Membership]


@dataclass
class _Condition:
    id: int
    step: _Step
    operators: tuple[Operator, ...]
    absent_ok: bool
    refs: int = 0


@dataclass(frozen=True)
class _Branch:
    rule_id: str
    conditions: tuple[_Condition, ...]
    #: Ids of the conditions a leaf must satisfy (all but those ``exists: false`` lets pass).
    needed: frozenset[int]
    #: The conditions that also hold when no leaf is at their path.
    absent_ok: tuple[_Condition, ...]
    #: The needed condition the branch is filed under (None: no needed condition).
    anchor: int | None


class Matcher:
    """Many rules' patterns compiled together; ``matches`` finds every rule an event matches."""

    def __init__(self) -> None:
        self._root: dict[str, _Step] = {}
        self._conditions: dict[tuple[str, frozenset[Operator]], _Condition] = {}
        self._branches: dict[int, _Branch] = {}
        self._rules: dict[str, list[int]] = {}
        #: Each branch is filed under one needed condition (its rarest when added): its anchor.
        self._anchors: dict[int, list[int]] = defaultdict(list)
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
            if branch.anchor is None:
                self._ungated.discard(bid)
            else:
                self._anchors[branch.anchor].remove(bid)
            for condition in branch.conditions:
                self._release(condition)

    def matches(self, event: Mapping[str, Any]) -> set[str]:
        """Ids of the rules whose pattern matches the event (a parsed JSON object).

        Raises:
            ValidationException: the event is not a JSON object.
        """
        if not isinstance(event, Mapping):
            raise ValidationException("Event must be a JSON object")
        leaves: list[_Leaf] = []
        _walk(event, self._root, (), leaves, [0])
        for _, _, membership in leaves:
            if membership:
                return self._matches_in_arrays(leaves)
        hits: set[int] = set()
        present: set[_Step] = set()
        for step, value, _ in leaves:
            step.index.collect(value, hits)  # type: ignore[union-attr]
            present.add(step)
        matched: set[str] = set()
        for bid in self._candidates(hits):
            branch = self._branches[bid]
            if branch.rule_id not in matched and _holds(branch, hits, present):
                matched.add(branch.rule_id)
        return matched

    def _matches_in_arrays(self, leaves: list[_Leaf]) -> set[str]:
        """``matches`` when leaves sit in arrays of objects: the fields a candidate takes from
        them must agree (a candidate naming no such path is decided as without arrays)."""
        hits: dict[int, set[Membership]] = defaultdict(set)
        by_step: dict[_Step, list[Membership]] = defaultdict(list)
        nested: set[_Step] = set()
        for step, value, membership in leaves:
            found: set[int] = set()
            step.index.collect(value, found)  # type: ignore[union-attr]
            for cid in found:
                hits[cid].add(membership)
            by_step[step].append(membership)
            if membership:
                nested.add(step)
        matched: set[str] = set()
        for bid in self._candidates(hits.keys()):
            branch = self._branches[bid]
            if branch.rule_id in matched:
                continue
            if any(c.step in nested for c in branch.conditions):
                found_all = _satisfiable(branch, hits, by_step)
            else:
                found_all = _holds(branch, hits.keys(), by_step.keys())
            if found_all:
                matched.add(branch.rule_id)
        return matched

    def _candidates(self, hits: Set[int]) -> Iterator[int]:
        """Branches whose every needed condition was hit (found through their anchors)."""
        anchors = self._anchors
        for cid in hits:
            for bid in anchors.get(cid, ()):
                if self._branches[bid].needed <= hits:
                    yield bid
        yield from self._ungated

    def _add_branch(self, rule_id: str, branch: tuple[Any, ...]) -> int:
        bid = next(self._ids)
        conditions = tuple(self._intern(c.path, c.operators) for c in branch)
        needed = [c for c in conditions if not c.absent_ok]
        anchor = min(needed, key=lambda c: c.refs).id if needed else None
        absent_ok = tuple(c for c in conditions if c.absent_ok)
        self._branches[bid] = _Branch(
            rule_id, conditions, frozenset(c.id for c in needed), absent_ok, anchor
        )
        if anchor is None:
            self._ungated.add(bid)
        else:
            self._anchors[anchor].append(bid)
        return bid

    def _intern(self, path: str, operators: tuple[Operator, ...]) -> _Condition:
        key = (path, frozenset(operators))
        condition = self._conditions.get(key)
        if condition is None:
            step = self._step(path)
            step.index = step.index or FieldIndex()
            condition = _Condition(next(self._ids), step, operators, Exists(False) in operators)
            self._conditions[key] = condition
            for op in operators:
                step.index.add(op, condition.id)
        condition.refs += 1
        return condition

    def _step(self, path: str) -> _Step:
        """The trie step of a path, created as needed; every step on the way counts one more user."""
        steps, step, walked = self._root, None, []
        for name in path.split("."):
            walked.append(name)
            step = steps.setdefault(name, _Step(".".join(walked)))
            step.refs += 1
            steps = step.children
        assert step is not None
        return step

    def _release(self, condition: _Condition) -> None:
        condition.refs -= 1
        if condition.refs:
            return
        step = condition.step
        del self._conditions[(step.path, frozenset(condition.operators))]
        self._anchors.pop(condition.id, None)
        for op in condition.operators:
            step.index.remove(op, condition.id)  # type: ignore[union-attr]
        steps = self._root
        for name in step.path.split("."):
            here = steps[name]
            here.refs -= 1
            if not here.refs:
                del steps[name]
                break
            steps = here.children


def _walk(
    obj: Mapping[str, Any],
    steps: dict[str, _Step],
    membership: Membership,
    out: list[_Leaf],
    arrays: list[int],
) -> None:
    """Collect the leaves under ``obj`` at the paths the rules name (skipping other subtrees)."""
    for key, value in obj.items():
        step = steps.get(key)
        if step is None:
            if not (isinstance(key, str) and "." in key):
                continue
            step = _dotted(steps, key)  # a dotted event key stands for nested keys
            if step is None:
                continue
        _visit(value, step, membership, out, arrays)


def _visit(
    value: Any, step: _Step, membership: Membership, out: list[_Leaf], arrays: list[int]
) -> None:
    if isinstance(value, dict):
        if step.children:
            _walk(value, step.children, membership, out, arrays)
    elif isinstance(value, list):
        arrays[0] += 1
        array = arrays[0]
        for i, element in enumerate(value):
            nested = isinstance(element, (dict, list))
            _visit(element, step, membership + ((array, i),) if nested else membership, out, arrays)
    elif step.index is not None:
        out.append((step, value, membership))


def _dotted(steps: dict[str, _Step], key: str) -> _Step | None:
    step = None
    for name in key.split("."):
        step = steps.get(name)
        if step is None:
            return None
        steps = step.children
    return step


def _holds(branch: _Branch, hits: Set[int], present: Set[_Step]) -> bool:
    """Whether a candidate holds when no array of objects is involved: each of its
    ``exists: false`` conditions is satisfied or has no leaf."""
    return all(c.id in hits or c.step not in present for c in branch.absent_ok)


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
    branch: _Branch, hits: dict[int, set[Membership]], leaves: dict[_Step, list[Membership]]
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
            and _absent(leaves.get(condition.step, ()), constraints)
            and search(i + 1, constraints)
        ):
            return True
        failed.add(key)
        return False

    return search(0, {})


def _absent(memberships: Iterable[Membership], constraints: dict[int, int]) -> bool:
    return all(_merge(constraints, membership) is None for membership in memberships)


def matches_pattern(pattern: Pattern | str | Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether one pattern matches one event (TestEventPattern).

    Raises:
        InvalidEventPatternException: the pattern is not valid.
        ValidationException: the event is not a JSON object.
    """
    matcher = Matcher()
    matcher.add("pattern", pattern)
    return bool(matcher.matches(event))
