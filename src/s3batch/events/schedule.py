"""Schedule expressions of scheduled rules: ``rate(...)`` and EventBridge's 6-field ``cron(...)`` (pure).

As the EventBridge user guide describes them (times are UTC):

- ``rate(value unit)``: a positive whole ``value``; ``unit`` is ``minute``, ``hour`` or
  ``day``, singular when the value is 1 and plural (``minutes``...) otherwise.
- ``cron(minutes hours day-of-month month day-of-week year)``: each field takes ``*``,
  a value, a list ``a,b``, a range ``a-b`` and an increment ``a/n`` or ``*/n``; months may
  be ``JAN``-``DEC`` and days of the week ``SUN``-``SAT`` (1 is Sunday). One of
  day-of-month and day-of-week must be ``?``. Day-of-month also takes ``L`` (last day)
  and ``nW`` (the weekday nearest day n); day-of-week takes ``nL`` (the last such day of
  the month) and ``n#k`` (the k-th such day).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from s3batch.events.errors import ValidationException

_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_CRON = re.compile(r"cron\((.*)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86_400}
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}
#: Field bounds and names: minutes, hours, day-of-month, month, day-of-week, year.
_FIELDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}),
    (0, 23, {}),
    (1, 31, {}),
    (1, 12, _MONTHS),
    (1, 7, _DAYS),
    (1970, 2199, {}),
)


class InvalidSchedule(ValidationException):
    """The ScheduleExpression is not valid."""

    def __init__(self, expression: str, reason: str) -> None:
        super().__init__(f"Parameter ScheduleExpression is not valid: {expression!r}: {reason}.")


@dataclass(frozen=True)
class Rate:
    """``rate(N unit)``: every ``seconds`` seconds from when the schedule started."""

    seconds: int

    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing after ``moment`` (the previous firing, or the start)."""
        return moment + timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class Cron:
    """``cron(...)``: the allowed values of each field, plus the day rules that need a calendar."""

    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    day_of_month: str
    day_of_week: str

    def next_after(self, moment: datetime) -> datetime | None:
        """The first minute after ``moment`` the expression selects, or None after year 2199."""
        t = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        while t.year <= 2199:
            if t.year not in self.years:
                t = datetime(t.year + 1, 1, 1, tzinfo=UTC)
            elif t.month not in self.months:
                t = _next_month(t)
            elif not self._day(t):
                t = datetime(t.year, t.month, t.day, tzinfo=UTC) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = datetime(t.year, t.month, t.day, t.hour, tzinfo=UTC) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t += timedelta(minutes=1)
            else:
                return t
        return None

    def _day(self, t: datetime) -> bool:
        if self.day_of_month != "?":
            return _day_of_month(self.day_of_month, t)
        return _day_of_week(self.day_of_week, t)


def parse_schedule(expression: str) -> Rate | Cron:
    """Parse a ScheduleExpression.

    Raises:
        InvalidSchedule: the expression is not a valid rate or cron expression.
    """
    rate = _RATE.fullmatch(expression.strip())
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            raise InvalidSchedule(expression, "the rate must be a positive whole number")
        if (value == 1) == unit.endswith("s"):
            raise InvalidSchedule(
                expression, "use a singular unit for 1 and a plural one otherwise"
            )
        return Rate(value * _UNIT_SECONDS[unit.rstrip("s")])
    cron = _CRON.fullmatch(expression.strip())
    if not cron:
        raise InvalidSchedule(expression, "use rate(value unit) or cron(6 fields)")
    return _cron(expression, cron.group(1).split())


def _cron(expression: str, fields: list[str]) -> Cron:
    if len(fields) != 6:
        raise InvalidSchedule(expression, f"cron takes 6 fields, not {len(fields)}")
    minutes, hours, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise InvalidSchedule(expression, "exactly one of day-of-month and day-of-week must be '?'")
    try:
        values = [
            _values(f, *_FIELDS[i]) for i, f in ((0, minutes), (1, hours), (3, month), (5, year))
        ]
        if dom != "?":
            _check_day_of_month(dom)
        else:
            _check_day_of_week(dow)
    except ValueError as exc:
        raise InvalidSchedule(expression, str(exc)) from exc
    minute_set, hour_set, month_set, year_set = values
    return Cron(minute_set, hour_set, month_set, year_set, dom, dow)


def _number(text: str, low: int, high: int, names: dict[str, int]) -> int:
    value = (
        names.get(text.upper()) if text.upper() in names else int(text) if text.isdigit() else None
    )
    if value is None or not low <= value <= high:
        raise ValueError(f"{text!r} is not between {low} and {high}")
    return value


def _values(field: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    """The values a field allows: ``*``, ``a``, ``a-b``, ``a/n``, ``*/n``, ``a-b/n``, lists of these."""
    out: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = _number(step_text, 1, high, {}) if step_text else 1
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first, last = (_number(x, low, high, names) for x in base.split("-", 1))
        else:
            first = _number(base, low, high, names)
            last = high if step_text else first
        span = (
            range(first, last + 1)
            if first <= last
            else [*range(first, high + 1), *range(low, last + 1)]
        )
        out.update(list(span)[::step])
    return frozenset(out)


def _check_day_of_month(field: str) -> None:
    for part in field.split(","):
        if part == "L":
            continue
        if part.endswith("W"):
            _number(part[:-1], 1, 31, {})
        else:
            _values(part, 1, 31, {})


def _check_day_of_week(field: str) -> None:
    for part in field.split(","):
        if "#" in part:
            day, nth = part.split("#", 1)
            _number(day, 1, 7, _DAYS)
            _number(nth, 1, 5, {})
        elif part.endswith("L") and part != "L":
            _number(part[:-1], 1, 7, _DAYS)
        elif part != "L":
            _values(part, 1, 7, _DAYS)


def _day_of_month(field: str, t: datetime) -> bool:
    last = calendar.monthrange(t.year, t.month)[1]
    for part in field.split(","):
        if part == "L":
            if t.day == last:
                return True
        elif part.endswith("W"):
            if t.day == _nearest_weekday(t.year, t.month, int(part[:-1]), last):
                return True
        elif t.day in _values(part, 1, 31, {}):
            return True
    return False


def _nearest_weekday(year: int, month: int, day: int, last: int) -> int:
    """The weekday (Mon-Fri) nearest the day, without leaving the month."""
    day = min(day, last)
    weekday = calendar.weekday(year, month, day)  # Monday is 0
    if weekday == 5:
        return day - 1 if day > 1 else day + 2
    if weekday == 6:
        return day + 1 if day < last else day - 2
    return day


def _day_of_week(field: str, t: datetime) -> bool:
    today = (t.weekday() + 1) % 7 + 1  # 1 is Sunday
    last = calendar.monthrange(t.year, t.month)[1]
    for part in field.split(","):
        if "#" in part:
            day, nth = part.split("#", 1)
            if today == _number(day, 1, 7, _DAYS) and (t.day - 1) // 7 + 1 == int(nth):
                return True
        elif part.endswith("L") and part != "L":
            if today == _number(part[:-1], 1, 7, _DAYS) and t.day + 7 > last:
                return True
        elif today in _values("7" if part == "L" else part, 1, 7, _DAYS):
            return True
    return False


def _next_month(t: datetime) -> datetime:
    return datetime(t.year + t.month // 12, t.month % 12 + 1, 1, tzinfo=UTC)
