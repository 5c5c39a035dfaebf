"""Interval run times: `anchor_date + k * interval`, with the reference's DST rules.

- An interval under a day steps in elapsed time, so an hourly schedule fires every
  UTC hour (twice at "01:00" when clocks go back).
- An interval of whole days steps on the local calendar, keeping the clock time
  across DST. When a step lands in a spring-forward gap the time moves forward
  (02:30 -> 03:30) and the series keeps that new clock time from then on, as the
  reference's sequential addition does.
- Mixed intervals (e.g. 1 day 1 hour) step on the wall clock; the first step from
  the anchor is estimated in elapsed time, as in the reference.

Ambiguous wall times (fall-back) resolve to the later occurrence, as the reference
does on Python < 3.13 (pendulum). Instants are de-duplicated by UTC value, so the
repeated hour of an hourly schedule is not lost (the reference's pendulum path
compares wall times and drops it; its own docs and its 3.13 path keep it).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

from shared.scheduling._tz import UTC, localize, to_zone, transitions_between, zone
from shared.schemas.schedules import IntervalSchedule

DAY = datetime.timedelta(days=1)


def _wall_add(value: datetime.datetime, delta: datetime.timedelta, tz: datetime.tzinfo) -> datetime.datetime:
    # Calendar arithmetic: move the wall clock, then find the instant it names.
    return localize(value.replace(tzinfo=None) + delta, tz, fold=1)  # type: ignore[arg-type]  # a fixed-offset zone is passed through as is


def _elapsed_add(value: datetime.datetime, seconds: float, tz: datetime.tzinfo) -> datetime.datetime:
    return (value.astimezone(UTC) + datetime.timedelta(seconds=seconds)).astimezone(tz)


def _utc(value: datetime.datetime) -> datetime.datetime:
    # Aware datetimes sharing a tzinfo compare and subtract by *wall clock* in Python,
    # which is wrong across DST; every comparison here goes through UTC instead.
    return value.astimezone(UTC)


def _seek_days(anchor: datetime.datetime, start: datetime.datetime, days: int, tz: ZoneInfo) -> datetime.datetime:
    """The first occurrence >= start of a whole-day series, replaying gap re-phasing.

    Only spring-forward gaps that the series lands on change its clock time, so we
    visit the transitions between anchor and start instead of every occurrence.
    """
    current = anchor
    for transition in transitions_between(tz, anchor, start):
        if transition.delta <= datetime.timedelta(0):
            continue
        gap_start = transition.wall_before()
        steps = (gap_start.date() - current.date()).days
        if steps < 0 or steps % days:
            continue
        wall = current.replace(tzinfo=None) + datetime.timedelta(days=steps)
        if gap_start <= wall < gap_start + transition.delta:
            current = localize(wall, tz)  # normalised forward: the new clock time sticks
    # No gap left to re-phase the series: jump, then settle on the first date >= start.
    jump = max(0, (start.date() - current.date()).days // days - 1)
    current = _wall_add(current, datetime.timedelta(days=jump * days), tz)
    while _utc(current) < _utc(start):
        current = _wall_add(current, datetime.timedelta(days=days), tz)
    return current


def interval_dates(
    schedule: IntervalSchedule,
    start: datetime.datetime,
    end: datetime.datetime | None,
    n: int,
    max_candidates: int,
) -> Iterator[datetime.datetime]:
    tz = zone(schedule.timezone)
    start = to_zone(start, tz)
    end = to_zone(end, tz) if end is not None else None
    anchor = to_zone(schedule.anchor_date, tz)
    interval = schedule.interval
    days = interval.days
    seconds = interval.total_seconds() - days * 86400
    total = interval.total_seconds()

    step: Callable[[datetime.datetime], datetime.datetime]
    jump: Callable[[int], datetime.datetime]
    if days == 0:
        step = lambda d: _elapsed_add(d, seconds, tz)  # noqa: E731 - each branch pairs its step and jump side by side
        jump = lambda k: _elapsed_add(anchor, seconds * k, tz)  # noqa: E731 - each branch pairs its step and jump side by side
    elif seconds == 0:
        step = lambda d: _wall_add(d, interval, tz)  # noqa: E731 - each branch pairs its step and jump side by side
        jump = lambda k: _wall_add(anchor, interval * k, tz)  # noqa: E731 - each branch pairs its step and jump side by side
    else:
        step = lambda d: _wall_add(d, interval, tz)  # noqa: E731 - each branch pairs its step and jump side by side
        jump = lambda k: _elapsed_add(anchor, total * k, tz)  # noqa: E731 - each branch pairs its step and jump side by side

    whole_days = days != 0 and seconds == 0
    offset = 0
    if whole_days and _utc(start) >= _utc(anchor) and schedule.timezone != "UTC":
        current = _seek_days(anchor, start, days, tz)
    else:
        # int() truncates toward zero, like the reference, for starts before the anchor.
        offset = int((_utc(start) - _utc(anchor)).total_seconds() / total)
        current = jump(offset)
        while _utc(current) > _utc(start):
            offset -= 1
            current = jump(offset)

    before_anchor = whole_days and _utc(start) < _utc(anchor)

    def advance(value: datetime.datetime) -> datetime.datetime:
        nonlocal offset
        if before_anchor and offset < 0:
            # Before the anchor, count from the anchor so a gap cannot re-phase the series.
            offset += 1
            return jump(offset)
        return step(value)

    while _utc(current) < _utc(start):
        current = advance(current)

    seen: set[datetime.datetime] = set()
    checked = 0
    while True:
        if end is not None and _utc(current) > _utc(end):
            break
        instant = current.astimezone(UTC)
        if instant not in seen:
            seen.add(instant)
            yield current
        if len(seen) >= n or checked > max_candidates:
            break
        checked += 1
        current = advance(current)
