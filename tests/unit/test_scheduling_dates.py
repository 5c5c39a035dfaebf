"""Run times of cron / interval / rrule schedules, compared with prefect 3.9.1.

The reference is only imported here, in tests, to compare outputs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest

from shared.scheduling import get_dates
from shared.schemas.schedules import CronSchedule, IntervalSchedule, RRuleSchedule

ref = pytest.importorskip("prefect.server.schemas.schedules")

UTC = dt.UTC
NY = ZoneInfo("America/New_York")


def _utc(values):
    return [v.astimezone(UTC) for v in values]


def reference_dates(schedule, **kwargs):
    return _utc(asyncio.run(schedule.get_dates(**kwargs)))


# Starts chosen around DST transitions in New York, London and Lord Howe (30 min shift).
STARTS = [
    dt.datetime(2024, 3, 10, 6, 59, tzinfo=UTC),
    dt.datetime(2024, 3, 10, 7, 0, tzinfo=UTC),
    dt.datetime(2024, 3, 10, 7, 10, tzinfo=UTC),
    dt.datetime(2024, 11, 3, 5, 30, tzinfo=UTC),
    dt.datetime(2024, 11, 3, 6, 10, tzinfo=UTC),
    dt.datetime(2024, 3, 31, 1, 20, tzinfo=UTC),
    dt.datetime(2024, 10, 27, 1, 20, tzinfo=UTC),
    dt.datetime(2024, 4, 6, 15, 10, tzinfo=UTC),
    dt.datetime(2024, 1, 1, 0, 0, 0, 500, tzinfo=UTC),
]
CRONS = ["0 * * * *", "30 2 * * *", "*/15 * * * *", "0 9 * * 1-5", "30 1 * * *", "15 1,2,3 * * *", "0 0 29 2 *"]
ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC", None]


@pytest.mark.parametrize("cron,tz", list(itertools.product(CRONS, ZONES)))
def test_cron_matches_reference_across_dst(cron: str, tz: str | None) -> None:
    for start in STARTS:
        ours = _utc(get_dates(CronSchedule(cron=cron, timezone=tz), start=start, n=10))
        theirs = reference_dates(ref.CronSchedule(cron=cron, timezone=tz), start=start, n=10)
        assert ours == theirs, (cron, tz, start)
        end = start + dt.timedelta(days=2)
        ours = _utc(get_dates(CronSchedule(cron=cron, timezone=tz), start=start, end=end))
        assert ours == reference_dates(ref.CronSchedule(cron=cron, timezone=tz), start=start, end=end)


def test_cron_spring_forward_shifts_gap_time_and_fall_back_fires_once() -> None:
    daily_0230 = CronSchedule(cron="30 2 * * *", timezone="America/New_York")
    dates = get_dates(daily_0230, start=dt.datetime(2024, 3, 9, tzinfo=NY), n=3)
    # 02:30 does not exist on 10 March: it fires at 03:30 EDT, then back to 02:30.
    assert [d.isoformat() for d in dates] == [
        "2024-03-09T02:30:00-05:00",
        "2024-03-10T03:30:00-04:00",
        "2024-03-11T02:30:00-04:00",
    ]
    hourly = CronSchedule(cron="0 * * * *", timezone="America/New_York")
    dates = get_dates(hourly, start=dt.datetime(2024, 11, 3, 0, 0, tzinfo=NY), n=4)
    # 01:00 happens twice on 3 November; cron fires on its first occurrence only.
    assert [d.isoformat() for d in dates] == [
        "2024-11-03T00:00:00-04:00",
        "2024-11-03T01:00:00-04:00",
        "2024-11-03T02:00:00-05:00",
        "2024-11-03T03:00:00-05:00",
    ]


def test_cron_keeps_local_time_and_day_or() -> None:
    nine = CronSchedule(cron="0 9 * * *", timezone="America/New_York")
    dates = get_dates(nine, start=dt.datetime(2024, 3, 8, tzinfo=UTC), n=4)
    assert {d.astimezone(NY).hour for d in dates} == {9}
    # day_or=False: the 13th AND a Friday.
    friday_13 = CronSchedule(cron="0 0 13 * 5", day_or=False)
    dates = get_dates(friday_13, start=dt.datetime(2024, 1, 1, tzinfo=UTC), n=2)
    assert [d.date().isoformat() for d in dates] == ["2024-09-13", "2024-12-13"]


INTERVALS = [
    dt.timedelta(hours=1),
    dt.timedelta(minutes=7),
    dt.timedelta(days=1),
    dt.timedelta(days=2),
    dt.timedelta(days=1, hours=1),
    dt.timedelta(days=7),
    dt.timedelta(seconds=90),
]
ANCHORS = [dt.datetime(2020, 1, 1, 2, 30), dt.datetime(2024, 3, 8, 2, 30), dt.datetime(2025, 1, 1, 9, 0)]


def _is_reference_fold_bug(interval: dt.timedelta, start: dt.datetime, tz: str) -> bool:
    # The reference (Python < 3.13 path) compares same-zone datetimes by wall clock, so
    # sub-day intervals lose the repeated hour at fall-back (and may even return a
    # time before `start`). We keep elapsed-time semantics there; see test below.
    fall_back = {
        "America/New_York": dt.datetime(2024, 11, 3, 6, tzinfo=UTC),
        "Europe/London": dt.datetime(2024, 10, 27, 1, tzinfo=UTC),
    }
    edge = fall_back.get(tz)
    return interval < dt.timedelta(days=1) and edge is not None and abs(start - edge) < dt.timedelta(hours=3)


@pytest.mark.parametrize(
    "interval,tz", list(itertools.product(INTERVALS, ["America/New_York", "Europe/London", "UTC"]))
)
def test_interval_matches_reference(interval: dt.timedelta, tz: str) -> None:
    for anchor, start in itertools.product(ANCHORS, STARTS):
        if _is_reference_fold_bug(interval, start, tz):
            continue
        anchor_dt = anchor.replace(tzinfo=ZoneInfo(tz))
        ours = _utc(
            get_dates(IntervalSchedule(interval=interval, anchor_date=anchor_dt, timezone=tz), start=start, n=8)
        )
        theirs = reference_dates(
            ref.IntervalSchedule(interval=interval, anchor_date=anchor_dt, timezone=tz), start=start, n=8
        )
        assert ours == theirs, (interval, tz, anchor, start)


def test_interval_hourly_counts_elapsed_time_through_fall_back() -> None:
    hourly = IntervalSchedule(
        interval=3600, anchor_date=dt.datetime(2024, 11, 3, 0, 0, tzinfo=NY), timezone="America/New_York"
    )
    dates = get_dates(hourly, start=dt.datetime(2024, 11, 3, 0, 0, tzinfo=NY), n=4)
    # Two runs that both read 01:00 local, an hour apart: what the reference documents.
    assert [d.isoformat() for d in dates] == [
        "2024-11-03T00:00:00-04:00",
        "2024-11-03T01:00:00-04:00",
        "2024-11-03T01:00:00-05:00",
        "2024-11-03T02:00:00-05:00",
    ]


def test_interval_daily_keeps_clock_and_anchor_alignment() -> None:
    daily = IntervalSchedule(
        interval=dt.timedelta(days=1), anchor_date=dt.datetime(2024, 3, 8, 9, 0, tzinfo=NY), timezone="America/New_York"
    )
    dates = get_dates(daily, start=dt.datetime(2024, 3, 9, 12, tzinfo=UTC), n=3)
    assert [d.isoformat() for d in dates] == [
        "2024-03-09T09:00:00-05:00",
        "2024-03-10T09:00:00-04:00",
        "2024-03-11T09:00:00-04:00",
    ]
    every_10 = IntervalSchedule(interval=600, anchor_date=dt.datetime(2024, 1, 1, 0, 3, tzinfo=UTC))
    dates = get_dates(every_10, start=dt.datetime(2024, 6, 1, 12, 0, tzinfo=UTC), n=2)
    assert [d.minute for d in dates] == [3, 13]


def test_interval_end_and_default_count() -> None:
    s = IntervalSchedule(interval=3600, anchor_date=dt.datetime(2024, 1, 1, tzinfo=UTC))
    start = dt.datetime(2024, 1, 1, tzinfo=UTC)
    assert len(get_dates(s, start=start)) == 1  # no n, no end: just the next one
    assert len(get_dates(s, start=start, end=start + dt.timedelta(hours=5))) == 6  # both ends included


RRULES = [
    "FREQ=DAILY;BYHOUR=9",
    "FREQ=HOURLY",
    "FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=2;BYMINUTE=30",
    "DTSTART:20240101T013000\nRRULE:FREQ=DAILY",
    "FREQ=MONTHLY;BYMONTHDAY=-1",
    "DTSTART:20240101T000000\nRRULE:FREQ=DAILY\nEXDATE:20240312T000000",
]


@pytest.mark.parametrize("rule,tz", list(itertools.product(RRULES, ["America/New_York", "UTC", "Europe/London"])))
def test_rrule_matches_reference(rule: str, tz: str) -> None:
    for start in STARTS:
        ours = _utc(get_dates(RRuleSchedule(rrule=rule, timezone=tz), start=start, n=6))
        assert ours == reference_dates(ref.RRuleSchedule(rrule=rule, timezone=tz), start=start, n=6), (rule, tz, start)


def test_rrule_daily_nine_keeps_local_time_and_exdate() -> None:
    s = RRuleSchedule(
        rrule="DTSTART:20240308T090000\nRRULE:FREQ=DAILY\nEXDATE:20240311T090000", timezone="America/New_York"
    )
    dates = get_dates(s, start=dt.datetime(2024, 3, 9, tzinfo=UTC), n=3)
    assert [d.isoformat() for d in dates] == [
        "2024-03-09T09:00:00-05:00",
        "2024-03-10T09:00:00-04:00",
        "2024-03-12T09:00:00-04:00",
    ]
