"""`get_dates`: the run times of any schedule in a window."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from shared.scheduling.cron import cron_dates
from shared.scheduling.interval import interval_dates
from shared.scheduling.rrule import rrule_dates
from shared.schemas.schedules import CronSchedule, IntervalSchedule, RRuleSchedule, Schedule

# The reference checks at most this many candidate dates per call.
MAX_ITERATIONS = 1000


def iter_dates(
    schedule: Schedule,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    n: int | None = None,
) -> Iterator[datetime.datetime]:
    """Run times t with start <= t (<= end), in order, lazily.

    Naive `start`/`end` are taken as UTC. Without `n`, an `end` means "all of them"
    (up to MAX_ITERATIONS) and no `end` means "the next one". Results are aware
    datetimes in the schedule's timezone.
    """
    if start is None:
        start = datetime.datetime.now(datetime.UTC)
    if n is None:
        n = MAX_ITERATIONS if end is not None else 1
    if isinstance(schedule, CronSchedule):
        return cron_dates(schedule, start, end, n, MAX_ITERATIONS)
    if isinstance(schedule, IntervalSchedule):
        return interval_dates(schedule, start, end, n, MAX_ITERATIONS)
    if isinstance(schedule, RRuleSchedule):
        return rrule_dates(schedule, start, end, n, MAX_ITERATIONS)
    raise TypeError(f"Unknown schedule type: {type(schedule).__name__}")


def get_dates(
    schedule: Schedule,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    n: int | None = None,
) -> list[datetime.datetime]:
    """Sorted run times of `schedule` (see `iter_dates`)."""
    return sorted(iter_dates(schedule, start, end, n), key=lambda d: d.astimezone(datetime.UTC))
