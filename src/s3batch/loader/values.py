"""Check one CSV field against its column and put it in the form every target reads.

A checker takes the field's text and returns the canonical text (``None`` for NULL), or
raises ValueError with the reason, e.g. ``"12a45" is not a valid numeric(10)``. An empty
field is NULL, except in a text column when ``empty_as_null`` is off (then it is an empty
string). Readers turn the format's null string and JSON ``null`` into NULL themselves. Values are never rounded or truncated: a numeric with more decimal places
than its scale, a varchar that is too long or an integer out of range is rejected, so
PostgreSQL and DuckDB end up with identical rows. Numbers, dates and booleans may have
surrounding spaces; text is kept as it is.
"""

from __future__ import annotations

import json
import math
import re
import struct
import sys
from collections.abc import Callable
from datetime import date, datetime
from decimal import Context, Decimal

from s3batch.loader.tables import Column, SqlType

#: A column's checker: field text → canonical text or None. Raises ValueError.
Checker = Callable[[str], "str | None"]

#: Longest excerpt of a bad value shown in an error message.
SHOW_CHARS = 40

# ASCII: \d is 0-9 only (in Unicode it is any script's digits, which no database reads).
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?", re.ASCII)
_INT_RANGES = {"smallint": 2**15, "integer": 2**31, "bigint": 2**63}
#: Enough digits to rescale any numeric(38, s) value exactly.
_WIDE = Context(prec=2 * 38 + 2)
_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})


def show(value: str) -> str:
    """A value quoted for an error message, shortened when long."""
    if len(value) > SHOW_CHARS:
        value = value[: SHOW_CHARS - 3] + "..."
    return json.dumps(value, ensure_ascii=False)


def checker(column: Column, empty_as_null: bool = True) -> Checker:
    """The checker for ``column``: its type's parser plus the NOT NULL rule."""
    if column.type.name in ("varchar", "text"):
        return _text_checker(column, empty_as_null)
    convert = _converter(column.type)
    not_null = column.not_null

    def check(text: str) -> str | None:
        value = text.strip()
        if not value:
            if not_null:
                raise _missing()
            return None
        return convert(value)

    return check


def _missing() -> ValueError:
    return ValueError("missing value (the column is NOT NULL)")


def _text_checker(column: Column, empty_as_null: bool) -> Checker:
    # The most common columns get one flat function: it runs once per field of the file.
    limit = column.type.length or sys.maxsize
    not_null, sql_type = column.not_null, column.type

    def check(value: str) -> str | None:
        if not value and empty_as_null:
            if not_null:
                raise _missing()
            return None
        if len(value) > limit:
            raise ValueError(f"{show(value)} is {len(value)} characters, longer than {sql_type}")
        if "\x00" in value:
            raise ValueError("contains a NUL character, which databases cannot store in text")
        return value

    return check


def _converter(sql_type: SqlType) -> Callable[[str], str]:
    if sql_type.name in _INT_RANGES:
        return _integer(sql_type)
    if sql_type.name == "numeric":
        return _numeric(sql_type)
    if sql_type.name in ("real", "double precision"):
        return _float(sql_type)
    return {"boolean": _boolean, "date": _date, "timestamp": _timestamp}[sql_type.name]


def _integer(sql_type: SqlType) -> Callable[[str], str]:
    bound = _INT_RANGES[sql_type.name]

    def check(value: str) -> str:
        if not _INTEGER.fullmatch(value):
            raise ValueError(f"{show(value)} is not a valid {sql_type}")
        number = int(value)
        if not -bound <= number < bound:
            raise ValueError(f"{show(value)} is out of range for {sql_type}")
        return str(number)

    return check


def _numeric(sql_type: SqlType) -> Callable[[str], str]:
    scale, precision = sql_type.scale, sql_type.precision or 0
    quantum = Decimal(1).scaleb(-scale)
    # Plain unsigned whole numbers (postal codes, ids) skip Decimal: 15x faster.
    whole_limit, zeros = 10 ** (precision - scale), "." + "0" * scale if scale else ""

    def check(value: str) -> str:
        if value.isdigit() and value.isascii() and int(value) < whole_limit:
            return f"{int(value)}{zeros}"
        if not _DECIMAL.fullmatch(value):
            raise ValueError(f"{show(value)} is not a valid {sql_type}")
        number = Decimal(value)
        if number.is_zero():
            return f"{Decimal(0).quantize(quantum):f}"
        if number.adjusted() >= precision - scale:
            raise ValueError(f"{show(value)} has too many digits for {sql_type}")
        exact = number.quantize(quantum, context=_WIDE)
        if exact != number:
            raise ValueError(f"{show(value)} has more than {scale} decimal places for {sql_type}")
        return f"{exact:f}"

    return check


def _float(sql_type: SqlType) -> Callable[[str], str]:
    code = "f" if sql_type.name == "real" else "d"

    def check(value: str) -> str:
        if not _DECIMAL.fullmatch(value):
            raise ValueError(f"{show(value)} is not a valid {sql_type}")
        try:
            (number,) = struct.unpack(code, struct.pack(code, float(value)))
        except OverflowError:
            number = math.inf
        if math.isinf(number) or (number == 0 and not Decimal(value).is_zero()):
            raise ValueError(f"{show(value)} is out of range for {sql_type}")
        return repr(number)

    return check


def _boolean(value: str) -> str:
    lowered = value.lower()
    if lowered in _TRUE:
        return "true"
    if lowered in _FALSE:
        return "false"
    raise ValueError(f"{show(value)} is not a valid boolean (true/false, t/f, yes/no, 1/0)")


def _date(value: str) -> str:
    try:
        if _DATE.fullmatch(value):
            return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise ValueError(f"{show(value)} is not a valid date (YYYY-MM-DD)")


def _timestamp(value: str) -> str:
    try:
        if _TIMESTAMP.fullmatch(value):
            return datetime.fromisoformat(value).isoformat(sep=" ")
    except ValueError:
        pass
    raise ValueError(f"{show(value)} is not a valid timestamp (YYYY-MM-DD HH:MM[:SS[.ffffff]])")
