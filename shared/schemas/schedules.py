"""Schedule payloads: cron, interval and rrule schedules, and a deployment's schedules.

JSON field names and defaults follow Prefect 3.9.1 (`schedule` objects inside
`DeploymentSchedule*`). Computing run times lives in `shared.scheduling`; this module
only validates and (for rrules) normalises what a client sends.

Deliberate difference from the reference: the schedule union is resolved by its
distinguishing key (`interval` / `cron` / `rrule`) instead of trying every member, so
a bad cron string yields one error about the cron string rather than one per union
member (the reference answers with five or six unrelated "field required" errors).
"""

from __future__ import annotations

import datetime
import functools
import os
import zoneinfo
from typing import Annotated, Any, ClassVar, Self
from uuid import UUID

from pydantic import (
    AfterValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from shared.schemas.base import ActionBaseModel, APIBaseModel, ObjectBaseModel
from shared.schemas.types import DateTime, PositiveInteger, now_utc

# --- limits (reference defaults) -------------------------------------------

# Reference: server.deployment_schedule_max_scheduled_runs (default 50).
MAX_SCHEDULED_RUNS_LIMIT = int(os.environ.get("SERVERFLOW_DEPLOYMENT_SCHEDULE_MAX_SCHEDULED_RUNS", "50"))
# Reference: about one year of RDATEs plus a buffer.
MAX_RRULE_LENGTH = 6500
# The anchor dateutil uses for rules without DTSTART (kept for compatibility).
LEGACY_RRULE_ANCHOR = datetime.datetime(2020, 1, 1, 0, 0, 0)


# --- timezones ---------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def known_timezones() -> frozenset[str]:
    # available_timezones() walks the tz database on every call; cache it once.
    return frozenset(zoneinfo.available_timezones())


def check_timezone(value: str | None) -> str | None:
    """None and "" pass (the reference treats them as "use UTC"); unknown names fail."""
    if value and value not in known_timezones():
        raise ValueError(f'Invalid timezone: "{value}" (specify in IANA tzdata format, for example, America/New_York)')
    return value


def _timezone_of(value: datetime.datetime) -> str:
    # Only a named zone can be carried over; ISO strings parse to fixed offsets, which
    # the reference maps to UTC.
    if isinstance(value.tzinfo, zoneinfo.ZoneInfo) and value.tzinfo.key in known_timezones():
        return value.tzinfo.key
    return "UTC"


# --- the three schedule kinds -----------------------------------------------


class IntervalSchedule(APIBaseModel):
    """Fires every `interval` from `anchor_date`.

    Intervals shorter than a day step in elapsed (UTC) time; whole days keep the local
    clock time across DST, as the reference does.
    """

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid", ser_json_timedelta="float")

    interval: datetime.timedelta
    anchor_date: DateTime = Field(default_factory=now_utc, examples=["2020-01-01T00:00:00Z"])
    timezone: str | None = Field(default=None, examples=["America/New_York"])

    @field_validator("interval")
    @classmethod
    def _positive(cls, value: datetime.timedelta) -> datetime.timedelta:
        if value <= datetime.timedelta(0):
            raise ValueError("interval must be positive")
        return value

    @model_validator(mode="after")
    def _default_timezone(self) -> Self:
        if self.timezone is None:
            self.timezone = _timezone_of(self.anchor_date)
        else:
            check_timezone(self.timezone)
        return self


def check_cron_string(value: str) -> str:
    # croniter and dateutil.rrule are imported on first use, not with the schemas: most Lambdas load this
    # module through the deployment/flow-run schemas but never parse a schedule (cold start, issue #13).
    from croniter import croniter

    if not croniter.is_valid(value):
        raise ValueError(f'Invalid cron string: "{value}"')
    # croniter also accepts random ("R") and hashed ("H") fields; the reference does not.
    if any(part.lower() in ("r", "h") for part in value.split()):
        raise ValueError(f'Random and Hashed expressions are unsupported, received: "{value}"')
    return value


class CronSchedule(APIBaseModel):
    """A cron expression evaluated on the wall clock of `timezone` (UTC when unset)."""

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    cron: str = Field(default=..., examples=["0 0 * * *"])
    timezone: str | None = Field(default=None, examples=["America/New_York"])
    day_or: bool = Field(
        default=True,
        description="Control croniter behavior for handling day and day_of_week entries.",
    )

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        return check_cron_string(value)

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str | None) -> str | None:
        return check_timezone(value)


def check_rrule_string(value: str) -> str:
    import dateutil.rrule  # on first use (cold start, see check_cron_string)

    try:
        dateutil.rrule.rrulestr(value, cache=True)
    except ValueError as exc:
        # dateutil's messages are terse; say which string was rejected.
        raise ValueError(f'Invalid RRule string "{value}": {exc}') from exc
    if len(value) > MAX_RRULE_LENGTH:
        raise ValueError(f'Invalid RRule string "{value[:40]}..."\nMax length is {MAX_RRULE_LENGTH}, got {len(value)}')
    return value


class RRuleSchedule(APIBaseModel):
    """An RFC 5545 recurrence rule (dateutil), its dates localised to `timezone`."""

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    rrule: str
    timezone: str | None = Field(default="UTC", examples=["America/New_York"])

    @field_validator("rrule")
    @classmethod
    def _valid_rrule(cls, value: str) -> str:
        return check_rrule_string(value)

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str | None) -> str | None:
        # The reference checks a regex of every zone name; same outcome, shorter message.
        return check_timezone(value)


def _schedule_kind(value: Any) -> str | None:
    """Pick the union member from the key only that kind has."""
    if isinstance(value, dict):
        for key in ("interval", "cron", "rrule"):
            if key in value:
                return key
        return None
    kinds: dict[type, str] = {IntervalSchedule: "interval", CronSchedule: "cron", RRuleSchedule: "rrule"}
    return kinds.get(type(value))


SCHEDULE_TYPES = Annotated[
    Annotated[IntervalSchedule, Tag("interval")]
    | Annotated[CronSchedule, Tag("cron")]
    | Annotated[RRuleSchedule, Tag("rrule")],
    Discriminator(
        _schedule_kind,
        custom_error_type="invalid_schedule",
        custom_error_message="A schedule needs one of the keys 'interval', 'cron' or 'rrule'.",
    ),
]
"""Any schedule; resolved by its `interval` / `cron` / `rrule` key."""

Schedule = IntervalSchedule | CronSchedule | RRuleSchedule


# --- rrule normalisation on the write path ------------------------------------


def _with_dtstart(rule: str, start: datetime.datetime) -> str:
    # Floating (offset-less) DTSTART: the schedule's `timezone` still localises it.
    return f"DTSTART:{start.strftime('%Y%m%dT%H%M%S')}\n{rule}"


def normalize_rrule_string(rule: str, *, timezone: str | None = None, now: datetime.datetime | None = None) -> str:
    """Give a rule without DTSTART an explicit one, as the reference does on create/update.

    Without DTSTART dateutil walks every occurrence since 2020-01-01 on each query,
    which is millions of steps for minutely rules. Secondly/minutely rules without
    COUNT get the latest anchor at or before `now` that keeps the same phase; every
    other rule gets the legacy 2020-01-01 anchor so its occurrences do not change.
    """
    if "DTSTART" in rule.upper():
        return rule
    # On first use (cold start, see check_cron_string).
    import dateutil.rrule
    import dateutil.tz

    try:
        parsed = dateutil.rrule.rrulestr(rule, dtstart=LEGACY_RRULE_ANCHOR, cache=False)
    except (ValueError, TypeError):
        return rule  # the validator reports the bad string; don't invent a different one
    if not isinstance(parsed, dateutil.rrule.rrule):
        return _with_dtstart(rule, LEGACY_RRULE_ANCHOR)
    freq = getattr(parsed, "_freq", None)
    step = getattr(parsed, "_interval", None)
    if step is None or getattr(parsed, "_count", None) is not None:
        return _with_dtstart(rule, LEGACY_RRULE_ANCHOR)
    unit = {dateutil.rrule.SECONDLY: 1, dateutil.rrule.MINUTELY: 60}.get(freq)  # type: ignore[arg-type]  # dateutil's frequency constants are plain ints in its stubs
    if unit is None:
        return _with_dtstart(rule, LEGACY_RRULE_ANCHOR)
    zone = dateutil.tz.gettz(timezone) if timezone else datetime.UTC
    current = now or datetime.datetime.now(datetime.UTC)
    if current.tzinfo is None:
        current = current.replace(tzinfo=datetime.UTC)
    # Wall-clock digits in the schedule's zone, because DTSTART is floating.
    local_now = current.astimezone(zone or datetime.UTC).replace(tzinfo=None)
    elapsed = (local_now - LEGACY_RRULE_ANCHOR).total_seconds()
    if elapsed <= 0:
        return _with_dtstart(rule, LEGACY_RRULE_ANCHOR)
    period = unit * step
    anchor = LEGACY_RRULE_ANCHOR + datetime.timedelta(seconds=(elapsed // period) * period)
    return _with_dtstart(rule, anchor)


def normalize_schedule(schedule: Schedule) -> Schedule:
    if isinstance(schedule, RRuleSchedule):
        normalized = normalize_rrule_string(schedule.rrule, timezone=schedule.timezone)
        if normalized != schedule.rrule:
            return RRuleSchedule(rrule=normalized, timezone=schedule.timezone)
    return schedule


# Only on create/update payloads: running it on stored schedules would re-phase them.
NormalizedSchedule = Annotated[SCHEDULE_TYPES, AfterValidator(normalize_schedule)]


def check_max_scheduled_runs(value: int | None) -> int | None:
    if value is not None and value > MAX_SCHEDULED_RUNS_LIMIT:
        raise ValueError(f"`max_scheduled_runs` must be less than or equal to {MAX_SCHEDULED_RUNS_LIMIT}.")
    return value


# --- a deployment's schedules ------------------------------------------------


class DeploymentSchedule(ObjectBaseModel):
    """A stored schedule of a deployment. `parameters` override the deployment's."""

    deployment_id: UUID | None = None
    schedule: SCHEDULE_TYPES
    active: bool = True
    max_scheduled_runs: PositiveInteger | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    slug: str | None = None

    _max_runs = field_validator("max_scheduled_runs")(check_max_scheduled_runs)


class DeploymentScheduleCreate(ActionBaseModel):
    active: bool = True
    schedule: NormalizedSchedule
    max_scheduled_runs: PositiveInteger | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    slug: str | None = None
    # Slug of an existing schedule this one replaces (used to rename a slug).
    replaces: str | None = None

    _max_runs = field_validator("max_scheduled_runs")(check_max_scheduled_runs)


class DeploymentScheduleUpdate(ActionBaseModel):
    active: bool | None = None
    schedule: NormalizedSchedule | None = None
    max_scheduled_runs: PositiveInteger | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    slug: str | None = None
    replaces: str | None = None

    _max_runs = field_validator("max_scheduled_runs")(check_max_scheduled_runs)


__all__ = [
    "MAX_RRULE_LENGTH",
    "MAX_SCHEDULED_RUNS_LIMIT",
    "SCHEDULE_TYPES",
    "CronSchedule",
    "DeploymentSchedule",
    "DeploymentScheduleCreate",
    "DeploymentScheduleUpdate",
    "IntervalSchedule",
    "NormalizedSchedule",
    "RRuleSchedule",
    "Schedule",
    "check_timezone",
    "known_timezones",
    "normalize_rrule_string",
]
