"""RRule run times (dateutil), localised to the schedule's timezone.

A rule's DTSTART/UNTIL are relabelled with the schedule's timezone (dateutil does
not round-trip zones in rule strings), so a 09:00 daily rule stays at 09:00 local
time through DST, as in the reference.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import dateutil.rrule
import dateutil.tz

from shared.scheduling._tz import to_zone, zone
from shared.schemas.schedules import LEGACY_RRULE_ANCHOR, RRuleSchedule


def _relabel(rule: dateutil.rrule.rrule, tz: datetime.tzinfo | None) -> dateutil.rrule.rrule:
    # dateutil keeps a rule's bounds only in private attributes (its stubs do not declare them).
    dtstart: datetime.datetime = rule._dtstart  # type: ignore[attr-defined]  # private, see above
    until: datetime.datetime | None = rule._until  # type: ignore[attr-defined]  # private, see above
    if until:
        return rule.replace(dtstart=dtstart.replace(tzinfo=tz), until=until.replace(tzinfo=tz))
    return rule.replace(dtstart=dtstart.replace(tzinfo=tz))


def to_dateutil(schedule: RRuleSchedule) -> dateutil.rrule.rrule | dateutil.rrule.rruleset:
    """The rule as a dateutil object whose dates are in the schedule's timezone."""
    parsed = dateutil.rrule.rrulestr(schedule.rrule, dtstart=LEGACY_RRULE_ANCHOR.date(), cache=True)
    tz = dateutil.tz.gettz(schedule.timezone)
    if isinstance(parsed, dateutil.rrule.rrule):
        return _relabel(parsed, tz)
    # An rruleset: dateutil only exposes its parts as private attributes.
    parsed._rrule = [_relabel(r, tz) for r in parsed._rrule]  # type: ignore[attr-defined]  # private, see above
    parsed._exrule = [_relabel(r, tz) for r in parsed._exrule]  # type: ignore[attr-defined]  # private, see above
    parsed._rdate = [d.replace(tzinfo=tz) for d in parsed._rdate]  # type: ignore[attr-defined]  # private, see above
    parsed._exdate = [d.replace(tzinfo=tz) for d in parsed._exdate]  # type: ignore[attr-defined]  # private, see above
    return parsed


def rrule_dates(
    schedule: RRuleSchedule,
    start: datetime.datetime,
    end: datetime.datetime | None,
    n: int,
    max_candidates: int,
) -> Iterator[datetime.datetime]:
    tz = zone(schedule.timezone)
    start = to_zone(start, tz)
    end = to_zone(end, tz) if end is not None else None
    seen: set[datetime.datetime] = set()
    # count=None: DST can produce duplicates, so count distinct dates ourselves.
    for checked, occurrence in enumerate(to_dateutil(schedule).xafter(start, count=None, inc=True)):
        date = to_zone(occurrence, tz)
        # Compare instants: same-tzinfo datetimes compare by wall clock in Python.
        if end is not None and date.astimezone(datetime.UTC) > end.astimezone(datetime.UTC):
            break
        instant = date.astimezone(datetime.UTC)
        if instant not in seen:
            seen.add(instant)
            yield date
        if len(seen) >= n or checked > max_candidates:
            break
