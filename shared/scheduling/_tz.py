"""Timezone arithmetic on the standard library alone (zoneinfo), no I/O.

The reference resolves local wall times with the "compatible" policy: a time that
falls in a DST gap moves forward by the gap, an ambiguous time takes its first
occurrence. `zoneinfo` with fold=0 gives exactly that, so `localize` is all we need.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

UTC = datetime.UTC


@functools.lru_cache(maxsize=256)
def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or "UTC")


def localize(wall: datetime.datetime, tz: ZoneInfo, fold: int = 0) -> datetime.datetime:
    """A naive wall time in `tz` as an aware datetime; a gap time moves forward by the gap.

    fold=0 takes the first of two ambiguous occurrences, fold=1 the second.
    """
    if fold and _is_gap(wall, tz):
        fold = 0  # fold=1 on a gap time would move it backwards
    aware = wall.replace(tzinfo=tz, fold=fold)
    # Round-trip through UTC so a gap time shows its real wall clock (02:30 -> 03:30).
    return aware.astimezone(UTC).astimezone(tz)


def _is_gap(wall: datetime.datetime, tz: ZoneInfo) -> bool:
    # A wall time that does not survive a round trip through UTC does not exist.
    aware = wall.replace(tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall


def to_zone(value: datetime.datetime, tz: ZoneInfo) -> datetime.datetime:
    """An instant in `tz`; naive values are taken as UTC, as the reference does."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz)


@dataclass(frozen=True)
class Transition:
    """A change of UTC offset: `at` is the first instant with the new offset."""

    at: datetime.datetime  # aware, UTC
    delta: datetime.timedelta  # new offset minus old: > 0 is a gap, < 0 a fold
    old_offset: datetime.timedelta

    def wall_after(self, tz: ZoneInfo) -> datetime.datetime:
        return self.at.astimezone(tz).replace(tzinfo=None)

    def wall_before(self) -> datetime.datetime:
        # The wall time the clock showed just before jumping (e.g. 02:00 for New York).
        return self.at.astimezone(UTC).replace(tzinfo=None) + self.old_offset


def _offset(tz: ZoneInfo, instant: datetime.datetime) -> datetime.timedelta:
    return instant.astimezone(tz).utcoffset() or datetime.timedelta(0)


def _bisect(tz: ZoneInfo, lo: datetime.datetime, hi: datetime.datetime) -> Transition:
    """The transition between lo (old offset) and hi (new offset), to the second."""
    old, new = _offset(tz, lo), _offset(tz, hi)
    while hi - lo > datetime.timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if _offset(tz, mid) == old:
            lo = mid
        else:
            hi = mid
    return Transition(at=hi, delta=new - old, old_offset=old)


# DST rules never change the offset twice within this step, so sampling finds them all.
_SAMPLE = datetime.timedelta(days=7)


def transitions_between(tz: ZoneInfo, start: datetime.datetime, end: datetime.datetime) -> list[Transition]:
    """Offset changes with start < at <= end (aware instants), in order."""
    found: list[Transition] = []
    lo = start.astimezone(UTC)
    end = end.astimezone(UTC)
    while lo < end:
        hi = min(lo + _SAMPLE, end)
        if _offset(tz, lo) != _offset(tz, hi):
            transition = _bisect(tz, lo, hi)
            found.append(transition)
            lo = transition.at
        else:
            lo = hi
    return found


def last_transition(tz: ZoneInfo, instant: datetime.datetime, within: datetime.timedelta) -> Transition | None:
    """The latest transition at or before `instant`, if one happened in the last `within`."""
    found = transitions_between(tz, instant - within - datetime.timedelta(seconds=1), instant)
    return found[-1] if found else None
