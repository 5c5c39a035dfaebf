"""Cron run times, with the reference's DST rules.

Cron fires on *wall-clock* times of the schedule's timezone:
- a wall time inside a spring-forward gap fires once, shifted forward by the gap
  (02:30 -> 03:30 in New York);
- a wall time repeated by a fall-back fires once, at its first occurrence, so an
  hourly cron pauses two hours rather than firing twice;
- each instant is produced at most once.
"""

from __future__ import annotations

import datetime
import heapq
import itertools
from collections.abc import Iterator

from croniter import croniter

from shared.scheduling._tz import UTC, last_transition, localize, to_zone, zone
from shared.schemas.schedules import CronSchedule

ONE_SECOND = datetime.timedelta(seconds=1)
# Longer than any DST shift in the tz database (Troll station: 2 hours).
_MAX_SHIFT = datetime.timedelta(hours=3)


def _walls(schedule: CronSchedule, after: datetime.datetime) -> Iterator[datetime.datetime]:
    """Naive wall times strictly after `after`, in order."""
    it = croniter(schedule.cron, after, day_or=schedule.day_or)
    while True:
        yield it.get_next(datetime.datetime)


def cron_dates(
    schedule: CronSchedule,
    start: datetime.datetime,
    end: datetime.datetime | None,
    n: int,
    max_candidates: int,
) -> Iterator[datetime.datetime]:
    """Up to `n` times with start <= t <= end, aware in the schedule's timezone."""
    tz = zone(schedule.timezone)
    start = to_zone(start, tz)
    # croniter's next is strictly after; back off one second so `start` itself counts.
    after = start.replace(tzinfo=None) - ONE_SECOND
    if start.microsecond:
        after += ONE_SECOND

    candidates: Iterator[datetime.datetime] = (localize(w, tz) for w in _walls(schedule, after))
    shift = last_transition(tz, start + ONE_SECOND, within=_MAX_SHIFT)
    if shift is not None:
        since = start - shift.at
        if shift.delta < datetime.timedelta(0) and datetime.timedelta(0) <= since < -shift.delta:
            # Inside a fall-back's repeated hour: its wall times already fired (first
            # occurrence), so skip them instead of spending the candidate budget.
            after = shift.wall_after(tz) - shift.delta - ONE_SECOND
            candidates = (localize(w, tz) for w in _walls(schedule, after))
        elif shift.delta > datetime.timedelta(0) and datetime.timedelta(0) <= since < shift.delta:
            # Just after a spring-forward: wall times in the skipped hour map to instants
            # after `start` (02:30 -> 03:30) but sit before `start`'s wall clock.
            gap_end = shift.wall_after(tz)
            skipped = itertools.takewhile(lambda w: w < gap_end, _walls(schedule, after - shift.delta))
            candidates = heapq.merge((localize(w, tz) for w in skipped), candidates, key=lambda d: d.astimezone(UTC))

    start_utc = start.astimezone(UTC)
    end_utc = end.astimezone(UTC) if end is not None else None
    seen: set[datetime.datetime] = set()
    for candidate in itertools.islice(candidates, max_candidates + 2):
        instant = candidate.astimezone(UTC)
        if end_utc is not None and instant > end_utc:
            break
        if instant >= start_utc and instant not in seen:
            seen.add(instant)
            yield candidate
        if len(seen) >= n:
            break
