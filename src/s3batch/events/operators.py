"""The value operators of the event-pattern language: one frozen dataclass each, with ``test``.

Each operator decides on one event *leaf* (a JSON scalar: str, int, float, bool or None).
Presence (``exists``) and array consistency are decided by the matcher, not here.
Numbers follow event-ruler: a number takes part in numeric comparisons only when it is
exactly a float64 ("comparable"); otherwise only an exact, literal match can find it.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

#: An event leaf: what a pattern operator is tested against.
Scalar = str | int | float | bool | None

#: A pattern number after normalisation: a float64 when exact, else the exact value.
Number = float | int | Decimal

_IPV4 = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6 = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")


def is_number(value: object) -> bool:
    """Whether ``value`` is a JSON number (booleans are not)."""
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def comparable(value: object) -> float | None:
    """The float64 of a JSON number if it is exactly one (event-ruler's ComparableNumber), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    try:
        as_float = float(value)
    except OverflowError:
        return None
    if not math.isfinite(as_float):
        return None
    if isinstance(value, float):
        return as_float
    if isinstance(value, int):
        return as_float if as_float == value else None
    return as_float if Decimal(repr(as_float)) == value else None


def normalise_number(value: int | float | Decimal) -> Number:
    """A pattern number as compared: its float64 when exact, else the exact int or Decimal."""
    exact = comparable(value)
    if exact is not None:
        return exact
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def fold(text: str) -> str:
    """Lower-case per character; characters outside the BMP are kept, as in event-ruler.

    event-ruler lets each pattern character match its lower- or upper-case form; for
    characters whose cases map one to one (nearly all) that equals comparing these folds.
    """
    return "".join(ch.lower() if ord(ch) <= 0xFFFF else ch for ch in text)


def ip_value(text: str) -> tuple[int, int] | None:
    """``(version, address)`` of an IP address literal as event-ruler recognises one, else None."""
    if not (_IPV4.fullmatch(text) or _IPV6.fullmatch(text)):
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # Java's InetAddress turns these into IPv4 addresses
    return address.version, int(address)


def exact_key(value: Scalar | Decimal) -> tuple[object, ...]:
    """A hashable key under which equal leaves (per the pattern language) collide."""
    if isinstance(value, str):
        ip = ip_value(value)
        return ("s", value) if ip is None else ("ip", *ip)
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    return ("num", value)  # int/float/Decimal hash alike when equal


@dataclass(frozen=True)
class Exact:
    """A literal: string (IP literals compare as addresses), number (by value), boolean or null."""

    value: str | Number | bool | None
    #: Part of the identity, so that ``1`` and ``true`` (equal in Python) stay apart.
    kind: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", str(exact_key(self.value)[0]))

    def test(self, value: Scalar) -> bool:
        """Whether the leaf equals the literal."""
        return exact_key(value) == exact_key(self.value)


@dataclass(frozen=True)
class Prefix:
    """``{"prefix": s}`` or ``{"prefix": {"equals-ignore-case": s}}``: a string starting with ``s``."""

    value: str
    ignore_case: bool = False

    def test(self, value: Scalar) -> bool:
        """Whether the leaf is a string with this prefix."""
        if not isinstance(value, str):
            return False
        if self.ignore_case:
            return fold(value).startswith(fold(self.value))
        return value.startswith(self.value)


@dataclass(frozen=True)
class Suffix:
    """``{"suffix": s}`` or ``{"suffix": {"equals-ignore-case": s}}``: a string ending with ``s``."""

    value: str
    ignore_case: bool = False

    def test(self, value: Scalar) -> bool:
        """Whether the leaf is a string with this suffix."""
        if not isinstance(value, str):
            return False
        if self.ignore_case:
            return fold(value).endswith(fold(self.value))
        return value.endswith(self.value)


@dataclass(frozen=True)
class EqualsIgnoreCase:
    """``{"equals-ignore-case": s}``: a string equal to ``s`` after case folding."""

    value: str

    def test(self, value: Scalar) -> bool:
        """Whether the leaf is a string equal to the value, ignoring case."""
        return isinstance(value, str) and fold(value) == fold(self.value)


def wildcard_regex(text: str) -> re.Pattern[str]:
    """Compile a wildcard (``*`` any run, ``\\*`` and ``\\\\`` escapes) to an anchored regex.

    Raises:
        ValueError: with event-ruler's message (positions count UTF-8 bytes of the quoted value).
    """
    raw = ('"' + text + '"').encode()
    i = 0
    while i < len(raw):
        if raw[i] == 0x2A and i + 1 < len(raw) and raw[i + 1] == 0x2A:
            raise ValueError(f"Consecutive wildcard characters at pos {i}")
        if raw[i] == 0x5C:
            if i + 1 < len(raw) and raw[i + 1] in (0x2A, 0x5C):
                i += 2
                continue
            raise ValueError(f"Invalid escape character at pos {i}")
        i += 1
    parts, literal, chars = [], [], iter(text)
    for ch in chars:
        if ch == "\\":
            literal.append(next(chars))
        elif ch == "*":
            parts.append(re.escape("".join(literal)))
            literal = []
        else:
            literal.append(ch)
    parts.append(re.escape("".join(literal)))
    return re.compile(".*".join(parts), re.DOTALL)


@dataclass(frozen=True)
class Wildcard:
    """``{"wildcard": "dir/*.png"}``: a string matching the glob, anchored at both ends."""

    value: str
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", wildcard_regex(self.value))

    def test(self, value: Scalar) -> bool:
        """Whether the leaf is a string the wildcard matches."""
        return isinstance(value, str) and self.regex.fullmatch(value) is not None


#: The forms of ``anything-but``.
AnythingButKind = Literal["equals", "prefix", "suffix", "equals-ignore-case", "wildcard"]


@dataclass(frozen=True)
class AnythingBut:
    """``{"anything-but": ...}``: a present leaf that none of the excluded values describes.

    ``kind`` is ``equals`` for plain values (all strings or all numbers), else the nested
    operator. Only strings can be excluded by a string form; numbers only by numbers; null
    and booleans are never excluded.
    """

    kind: AnythingButKind
    values: tuple[str | Number, ...]
    _keys: frozenset[object] = field(init=False, repr=False, compare=False)
    _regexes: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys: frozenset[object]
        if self.kind == "equals":
            keys = frozenset(exact_text_key(v) for v in self.values)
        else:
            keys = frozenset(fold(str(v)) for v in self.values)
        regexes = (
            tuple(wildcard_regex(str(v)) for v in self.values) if self.kind == "wildcard" else ()
        )
        object.__setattr__(self, "_keys", keys)
        object.__setattr__(self, "_regexes", regexes)

    def excludes(self, value: Scalar) -> bool:
        """Whether the leaf is one of the excluded values."""
        if self.kind == "equals":
            return exact_text_key(value) in self._keys
        if not isinstance(value, str):
            return False
        if self.kind == "equals-ignore-case":
            return fold(value) in self._keys
        if self.kind == "wildcard":
            return any(regex.fullmatch(value) for regex in self._regexes)
        if self.kind == "prefix":
            return any(value.startswith(str(v)) for v in self.values)
        return any(value.endswith(str(v)) for v in self.values)

    def test(self, value: Scalar) -> bool:
        """Whether the leaf is not excluded."""
        return not self.excludes(value)


def exact_text_key(value: Scalar | Decimal) -> tuple[object, ...] | None:
    """Key for anything-but: strings by text (no IP folding), comparable numbers by value."""
    if isinstance(value, str):
        return ("s", value)
    number = comparable(value)
    return None if number is None else ("num", number)


@dataclass(frozen=True)
class Numeric:
    """``{"numeric": [...]}``: a comparable JSON number within the bounds (None = unbounded)."""

    lower: float | None = None
    lower_inclusive: bool = False
    upper: float | None = None
    upper_inclusive: bool = False

    def contains(self, number: float) -> bool:
        """Whether a float64 lies within the bounds."""
        if self.lower is not None:
            if number < self.lower or (number == self.lower and not self.lower_inclusive):
                return False
        if self.upper is not None:
            if number > self.upper or (number == self.upper and not self.upper_inclusive):
                return False
        return True

    def test(self, value: Scalar) -> bool:
        """Whether the leaf is a comparable number within the bounds."""
        number = comparable(value)
        return number is not None and self.contains(number)


@dataclass(frozen=True)
class Exists:
    """``{"exists": true|false}``: presence or absence of a leaf at the field's path."""

    present: bool

    def test(self, value: Scalar) -> bool:
        """A leaf is there: true for ``exists: true``."""
        return self.present


#: An IP network as a CIDR operator holds it.
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_cidr(text: str) -> Network:
    """Parse ``addr/bits`` as event-ruler does (host bits are floored; /32 and /128 rejected).

    Raises:
        ValueError: with event-ruler's message.
    """
    parts = text.split("/")
    if len(parts) != 2:
        raise ValueError("Malformed CIDR, one '/' required")
    if not re.fullmatch(r"[+-]?[0-9]+", parts[1]):
        raise ValueError("Malformed CIDR, mask bits must be an integer")
    bits = int(parts[1])
    if bits < 0:
        raise ValueError("Malformed CIDR, mask bits must not be negative")
    if not (_IPV4.fullmatch(parts[0]) or _IPV6.fullmatch(parts[0])):
        raise ValueError(f"Nonstandard IP address: {parts[0]}")
    address = ip_value(parts[0])
    if address is None:
        raise ValueError(f"Invalid IP address: {parts[0]}")
    version, number = address
    if version == 4 and bits > 31:
        raise ValueError("IPv4 mask bits must be < 32")
    if version == 6 and bits > 127:
        raise ValueError("IPv6 mask bits must be < 128")
    if version == 4:
        return ipaddress.IPv4Network((number, bits), strict=False)
    return ipaddress.IPv6Network((number, bits), strict=False)


@dataclass(frozen=True)
class Cidr:
    """``{"cidr": "10.0.0.0/24"}``: a string holding an IP address within the network."""

    network: Network

    def test(self, value: Scalar) -> bool:
        """Whether the leaf is an IP address string inside the network."""
        if not isinstance(value, str):
            return False
        address = ip_value(value)
        if address is None or address[0] != self.network.version:
            return False
        return (
            int(self.network.network_address) <= address[1] <= int(self.network.broadcast_address)
        )


#: Any value operator.
Operator = (
    Exact | Prefix | Suffix | EqualsIgnoreCase | Wildcard | AnythingBut | Numeric | Exists | Cidr
)
