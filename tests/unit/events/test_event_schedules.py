"""Scheduled rules: rate and cron expressions, and the scheduler on a FakeClock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from s3batch.clock import FakeClock
from s3batch.events.dispatcher import Dispatcher
from s3batch.events.schedule import InvalidSchedule, Rate, parse_schedule
from s3batch.events.scheduler import Scheduler
from s3batch.events.service import EventBus
from s3batch.events.targets import Target
from s3batch.state.db import Database

T0 = datetime(2026, 11, 28, 9, 0, 30, tzinfo=UTC)  # a Saturday
ACCOUNT = "123456789012"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def firings(expression: str, start: datetime, n: int) -> list[str]:
    schedule, out, moment = parse_schedule(expression), [], start
    for _ in range(n):
        moment = schedule.next_after(moment)
        out.append(moment.strftime("%Y-%m-%d %H:%M %a"))
    return out


# -- expressions (pure) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(2 days)", 172_800),
    ],
)
def test_rates(expression: str, seconds: int) -> None:
    assert parse_schedule(expression) == Rate(seconds)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",  # 1 takes the singular
        "rate(5 minute)",
        "rate(0 minutes)",
        "rate(1 week)",
        "rate(-1 minute)",
        "cron(0 12 * * *)",  # 5 fields: EventBridge's cron has 6
        "cron(0 12 * * * *)",  # neither day field is ?
        "cron(0 12 ? * ? *)",  # both are
        "cron(60 12 * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 12 32 * ? *)",
        "cron(0 12 ? * 8 *)",
        "cron(0 12 ? FOO * *)",
        "cron(0 12 * * ? 1969)",
        "every hour",
    ],
)
def test_invalid_expressions_are_refused(expression: str) -> None:
    with pytest.raises(InvalidSchedule, match="ScheduleExpression is not valid"):
        parse_schedule(expression)


def test_cron_daily_at_noon() -> None:
    assert firings("cron(0 12 * * ? *)", T0, 2) == ["2026-11-28 12:00 Sat", "2026-11-29 12:00 Sun"]


def test_cron_weekdays_with_names_ranges_and_increments() -> None:
    assert firings("cron(0/20 8-9 ? * MON-FRI *)", T0, 7) == [
        "2026-11-30 08:00 Mon",
        "2026-11-30 08:20 Mon",
        "2026-11-30 08:40 Mon",
        "2026-11-30 09:00 Mon",
        "2026-11-30 09:20 Mon",
        "2026-11-30 09:40 Mon",
        "2026-12-01 08:00 Tue",
    ]


def test_cron_last_day_nearest_weekday_last_friday_and_nth_day() -> None:
    assert firings("cron(15 10 L * ? *)", T0, 2) == ["2026-11-30 10:15 Mon", "2026-12-31 10:15 Thu"]
    # 2027-05-15 and 2027-05-01 are Saturdays: the nearest weekday stays within the month
    assert firings("cron(0 0 15W * ? *)", at("2027-05-01"), 1) == ["2027-05-14 00:00 Fri"]
    assert firings("cron(0 0 1W * ? *)", at("2027-05-01"), 1) == ["2027-05-03 00:00 Mon"]
    assert firings("cron(0 18 ? * 6L *)", T0, 2) == ["2026-12-25 18:00 Fri", "2027-01-29 18:00 Fri"]
    assert firings("cron(0 9 ? * 2#1 *)", T0, 2) == ["2026-12-07 09:00 Mon", "2027-01-04 09:00 Mon"]


def test_cron_months_years_and_the_end_of_the_range() -> None:
    assert firings("cron(0 0 1 JAN,JUL ? 2027-2028)", T0, 3) == [
        "2027-01-01 00:00 Fri",
        "2027-07-01 00:00 Thu",
        "2028-01-01 00:00 Sat",
    ]
    assert parse_schedule("cron(0 0 1 1 ? 2026)").next_after(T0) is None


# -- the scheduler ---------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def deliver(self, event: Any, target: Any, payload: Any, delivery_id: str) -> str:
        self.events.append(event)
        return "ok"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


def run(clock: FakeClock, scheduler: Scheduler, dispatcher: Dispatcher, seconds: int) -> None:
    for _ in range(seconds // 10):
        scheduler.tick()
        dispatcher.tick()
        clock.advance(10)


def test_a_rate_rule_sends_scheduled_events_to_its_targets_only(
    db: Database, clock: FakeClock
) -> None:
    bus = EventBus(db, clock, "us-east-1", ACCOUNT)
    rule = bus.put_rule(
        {"Name": "every5", "ScheduleExpression": "rate(5 minutes)"}, [{"Id": "t", "Arn": "q"}]
    )
    everything = {"source": [{"prefix": ""}]}  # would match any event put on the bus
    bus.put_rule({"Name": "catch-all", "EventPattern": everything}, [{"Id": "t", "Arn": "q2"}])
    recorder = Recorder()
    targets: dict[str, Target] = {"batch": recorder}
    scheduler, dispatcher = (
        Scheduler(db, clock, "us-east-1", ACCOUNT),
        Dispatcher(db, clock, targets),
    )
    run(clock, scheduler, dispatcher, 4 * 60)
    assert recorder.events == []
    run(clock, scheduler, dispatcher, 11 * 60)  # to 15:30 after the start: firings at 5 and 10 min
    assert [e["time"] for e in recorder.events] == ["2026-11-28T09:05:30Z", "2026-11-28T09:10:30Z"]
    event = recorder.events[0]
    assert (event["source"], event["detail-type"], event["resources"], event["detail"]) == (
        "aws.events",
        "Scheduled Event",
        [rule.arn],
        {},
    )
    assert (event["account"], event["region"], event["version"]) == (ACCOUNT, "us-east-1", "0")


def test_disabled_or_stopped_schedules_skip_what_they_missed(
    db: Database, clock: FakeClock
) -> None:
    bus = EventBus(db, clock, "us-east-1", ACCOUNT)
    bus.put_rule(
        {"Name": "hourly", "ScheduleExpression": "cron(0 * * * ? *)"}, [{"Id": "t", "Arn": "q"}]
    )
    recorder = Recorder()
    scheduler = Scheduler(db, clock, "us-east-1", ACCOUNT)
    dispatcher = Dispatcher(db, clock, {"batch": recorder})
    scheduler.tick()  # first seen at 09:00:30: next firing 10:00
    clock.advance(3 * 3600)  # stopped until 12:00:30: 10:00, 11:00 and 12:00 were missed
    assert scheduler.tick() == 1  # one firing (the first missed), then it moves on to 13:00
    bus.set_state("hourly", None, "DISABLED")
    clock.advance(3600)
    assert scheduler.tick() == 0
    bus.set_state("hourly", None, "ENABLED")
    clock.advance(1800)  # 13:30: the 13:00 firing came while disabled
    assert scheduler.tick() == 0
    clock.advance(1800)
    assert scheduler.tick() == 1
    dispatcher.tick()
    assert [e["time"] for e in recorder.events] == ["2026-11-28T10:00:00Z", "2026-11-28T14:00:00Z"]


def test_a_schedule_removed_and_put_back_starts_afresh(db: Database, clock: FakeClock) -> None:
    bus = EventBus(db, clock, "us-east-1", ACCOUNT)
    scheduler = Scheduler(db, clock, "us-east-1", ACCOUNT)
    bus.put_rule({"Name": "r", "ScheduleExpression": "rate(1 hour)"}, [{"Id": "t", "Arn": "q"}])
    scheduler.tick()  # first firing due at 10:00:30
    bus.put_rule({"Name": "r", "EventPattern": {"source": ["x"]}})  # PutRule replaces the rule
    clock.advance(2 * 3600)
    bus.put_rule({"Name": "r", "ScheduleExpression": "rate(1 hour)"})
    assert scheduler.tick() == 0  # not the stale 10:00:30 firing: it starts again, at 12:00:30
    clock.advance(3600)
    assert scheduler.tick() == 1
