"""Everything the compiled rules test at one event path, arranged for lookup by leaf value (pure).

The matcher keeps one :class:`FieldIndex` per path some pattern names. Each condition's
operators are filed where a leaf value finds them without testing them one by one:

- a dict of exact values (strings by text, IP literals by address, numbers by value);
- prefix / suffix tables (plain and case-folded), probed once per distinct length;
- a dict of case-folded values for ``equals-ignore-case``;
- numeric ranges cut at their sorted boundaries: a value's hits are one bisection away;
- ``anything-but`` value lists as "every such condition, minus those excluding this value";
- CIDR tables, one dict of network addresses per prefix length;
- a short scan list for what has no index (wildcards, anything-but prefix/suffix/...).

``exists: false`` is decided by the matcher (it is about the absence of leaves).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from typing import Any

from s3batch.events.operators import (
    AnythingBut,
    Cidr,
    EqualsIgnoreCase,
    Exact,
    Exists,
    Numeric,
    Operator,
    Prefix,
    Scalar,
    Suffix,
    comparable,
    exact_key,
    exact_text_key,
    fold,
    ip_value,
)

_NONE: frozenset[int] = frozenset()


def _key(value: Any) -> Any:
    """The exact-value key of a pattern literal or leaf: a plain string unless it is an IP literal."""
    key = exact_key(value)
    return key[1] if key[0] == "s" else key


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

    def get(self, key: Any) -> set[int] | frozenset[int]:
        return self.by_key.get(key, _NONE)


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

    def hits(self, text: str) -> Iterator[set[int]]:
        size = len(text)
        for length in self.lengths:
            if length <= size:
                found = self.by_key.get(text[size - length :] if self.suffix else text[:length])
                if found:
                    yield found


class _Ranges:
    """Numeric ranges, cut at their sorted boundaries once; a number's hits are found by bisection."""

    def __init__(self) -> None:
        self.ranges: list[tuple[Numeric, int]] = []
        self._bounds: list[float] | None = None
        self._points: list[frozenset[int]] = []
        self._gaps: list[frozenset[int]] = []

    def add(self, op: Numeric, cid: int) -> None:
        self.ranges.append((op, cid))
        self._bounds = None

    def remove(self, op: Numeric, cid: int) -> None:
        self.ranges.remove((op, cid))
        self._bounds = None

    def hits(self, number: float) -> frozenset[int]:
        """Ids of the ranges holding the number."""
        if self._bounds is None:
            self._cut()
        bounds = self._bounds or []
        i = bisect_left(bounds, number)
        if i < len(bounds) and bounds[i] == number:
            return self._points[i]
        return self._gaps[i]

    def _cut(self) -> None:
        """Boundaries, the ranges holding each boundary, and those holding each gap between two."""
        bounds = sorted({b for op, _ in self.ranges for b in (op.lower, op.upper) if b is not None})
        self._points = [self._holding(b) for b in bounds]
        self._gaps = []
        for i in range(len(bounds) + 1):
            low = bounds[i - 1] if i else -math.inf
            inside = math.nextafter(low, math.inf)  # the first float in the gap, if it has one
            high = bounds[i] if i < len(bounds) else math.inf
            self._gaps.append(self._holding(inside) if inside < high or i == len(bounds) else _NONE)
        self._bounds = bounds

    def _holding(self, number: float) -> frozenset[int]:
        return frozenset(cid for op, cid in self.ranges if op.contains(number))


class _Exclusions:
    """``anything-but`` value lists: a leaf hits every one of them but those that list it."""

    def __init__(self) -> None:
        self.every: set[int] = set()
        self.excluding = _SetIndex()

    def add(self, op: AnythingBut, cid: int) -> None:
        self.every.add(cid)
        for value in op.values:
            self.excluding.add(exact_text_key(value), cid)

    def remove(self, op: AnythingBut, cid: int) -> None:
        self.every.discard(cid)
        for value in op.values:
            self.excluding.remove(exact_text_key(value), cid)

    def hits(self, value: Scalar) -> set[int]:
        excluded = self.excluding.get(exact_text_key(value))
        return self.every - excluded if excluded else self.every


class FieldIndex:
    """Everything the rules test at one path, arranged for lookup by leaf value."""

    def __init__(self) -> None:
        self.exact = _SetIndex()
        self.folded = _SetIndex()
        self.prefix, self.prefix_ci = _AffixTable(False), _AffixTable(False)
        self.suffix, self.suffix_ci = _AffixTable(True), _AffixTable(True)
        self.ranges = _Ranges()
        self.exclusions = _Exclusions()
        self.networks: dict[tuple[int, int], _SetIndex] = {}
        self.present: set[int] = set()
        self.scans: list[tuple[Operator, int]] = []
        #: How many literals and CIDRs are IP addresses: while none, string leaves are not parsed as IPs.
        self.addresses = 0

    def add(self, op: Operator, cid: int) -> None:
        """File one operator of a condition (``exists: false`` is decided per branch, not here)."""
        self._file(op, cid, adding=True)

    def remove(self, op: Operator, cid: int) -> None:
        """Unfile one operator of a condition."""
        self._file(op, cid, adding=False)

    def _file(self, op: Operator, cid: int, adding: bool) -> None:
        if op == Exists(False):
            return
        if isinstance(op, Numeric):
            (self.ranges.add if adding else self.ranges.remove)(op, cid)
        elif isinstance(op, AnythingBut) and self._excludes(op, cid, adding):
            (self.exclusions.add if adding else self.exclusions.remove)(op, cid)
        elif isinstance(op, Exists):
            (self.present.add if adding else self.present.discard)(cid)
        else:
            slot = self._slot(op)
            if slot is None:
                (self.scans.append if adding else self.scans.remove)((op, cid))
            else:
                (slot[0].add if adding else slot[0].remove)(slot[1], cid)
        if isinstance(op, Cidr) or (isinstance(op, Exact) and exact_key(op.value)[0] == "ip"):
            self.addresses += 1 if adding else -1

    def _excludes(self, op: AnythingBut, cid: int, adding: bool) -> bool:
        """Whether the op is (to be) filed in ``exclusions``: one anything-but list per condition.

        Exclusions subtract, so a second list of the same condition is scanned instead.
        """
        if op.kind != "equals":
            return False
        return cid not in self.exclusions.every if adding else (op, cid) not in self.scans

    def _slot(self, op: Operator) -> tuple[_SetIndex, Any] | None:
        if isinstance(op, Exact):
            return self.exact, _key(op.value)
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
        return None

    def collect(self, value: Scalar, found: set[int]) -> None:
        """Add to ``found`` the ids of the conditions this leaf value satisfies."""
        found |= self.present
        if type(value) is str:
            self._strings(value, found)
        else:
            found |= self.exact.get(_key(value))
            if self.ranges.ranges:
                number = comparable(value)
                if number is not None:
                    found |= self.ranges.hits(number)
        if self.exclusions.every:
            found |= self.exclusions.hits(value)
        for op, cid in self.scans:
            if cid not in found and op.test(value):
                found.add(cid)

    def _strings(self, value: str, found: set[int]) -> None:
        address = ip_value(value) if self.addresses else None
        found |= self.exact.get(value if address is None else ("ip", *address))
        for hit in self.prefix.hits(value):
            found |= hit
        for hit in self.suffix.hits(value):
            found |= hit
        if self.folded.by_key or self.prefix_ci.by_key or self.suffix_ci.by_key:
            folded = fold(value)
            found |= self.folded.get(folded)
            for hit in self.prefix_ci.hits(folded):
                found |= hit
            for hit in self.suffix_ci.hits(folded):
                found |= hit
        if address is not None:
            version, number = address
            width = 32 if version == 4 else 128
            for (net_version, bits), table in self.networks.items():
                if net_version == version:
                    found |= table.get(number >> (width - bits) << (width - bits))
