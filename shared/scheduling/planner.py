"""The scheduler's pure planning: which auto-scheduled runs a deployment needs.

Mirrors the reference's `_generate_scheduled_flow_runs` (models/deployments.py) and
the scheduler service's selection rule, minus the database. The caller (the
scheduler Lambda) loads a deployment, its schedules and the times already
scheduled, calls `plan_scheduled_runs`, and writes each run with a conditional put
on its idempotency key. Because ids and keys are derived from (deployment,
schedule, time) only, two overlapping invocations plan identical runs and the
conditional write lets exactly one of them in.
"""

from __future__ import annotations

import datetime
import hashlib
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from shared.scheduling.dates import iter_dates
from shared.schemas.common import CreatedBy
from shared.schemas.flow_runs import FlowRun
from shared.schemas.schedules import DeploymentSchedule
from shared.schemas.states import State, StateDetails, StateType

if TYPE_CHECKING:
    from shared.schemas.deployments import Deployment

UTC = datetime.UTC
AUTO_SCHEDULED_TAG = "auto-scheduled"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass(frozen=True)
class SchedulerSettings:
    """Reference defaults (server.services.scheduler.*); overridable by environment."""

    min_runs: int = 3
    max_runs: int = 100
    min_scheduled_time: datetime.timedelta = datetime.timedelta(hours=1)
    max_scheduled_time: datetime.timedelta = datetime.timedelta(days=100)

    @classmethod
    def from_env(cls) -> SchedulerSettings:
        return cls(
            min_runs=_env_int("SERVERFLOW_SCHEDULER_MIN_RUNS", cls.min_runs),
            max_runs=_env_int("SERVERFLOW_SCHEDULER_MAX_RUNS", cls.max_runs),
            min_scheduled_time=datetime.timedelta(seconds=_env_int("SERVERFLOW_SCHEDULER_MIN_SCHEDULED_TIME", 3600)),
            max_scheduled_time=datetime.timedelta(
                seconds=_env_int("SERVERFLOW_SCHEDULER_MAX_SCHEDULED_TIME", 100 * 86400)
            ),
        )


# --- deterministic identity -------------------------------------------------


def _utc(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def scheduled_run_key(deployment_id: UUID, schedule_id: UUID, when: datetime.datetime) -> str:
    """The idempotency key of one schedule tick.

    Same shape as the reference ("scheduled <deployment> <schedule> <time>"), but the
    time is always written in UTC so the key never depends on how the tick's
    timezone happened to be represented.
    """
    return f"scheduled {deployment_id} {schedule_id} {_utc(when).isoformat()}"


def scheduled_run_id(key: str, when: datetime.datetime) -> UUID:
    """A UUIDv7-shaped id that is a pure function of the tick.

    The 48-bit time field is the scheduled time (so ids still sort by time, which
    keeps sort keys chronological) and the random bits come from a hash of the key.
    """
    ms = int(_utc(when).timestamp() * 1000) & ((1 << 48) - 1)
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:10], "big")
    rand_a = digest >> 68  # 12 bits
    rand_b = digest & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return UUID(int=value)


# --- selection ----------------------------------------------------------------


def schedule_needs_runs(
    future_times: Collection[datetime.datetime],
    now: datetime.datetime,
    settings: SchedulerSettings = SchedulerSettings(),
) -> bool:
    """The reference's per-schedule test: too few future runs, or they end too soon.

    `future_times` are the schedule's auto-scheduled, still-Scheduled runs at or after now.
    """
    if len(future_times) < settings.min_runs:
        return True
    return max(_utc(t) for t in future_times) < _utc(now) + settings.min_scheduled_time


def schedule_times(
    schedule: DeploymentSchedule,
    now: datetime.datetime,
    settings: SchedulerSettings = SchedulerSettings(),
) -> list[datetime.datetime]:
    """The ticks to have scheduled, as the reference picks them.

    From `now` up to `now + max_scheduled_time`, at most `max_runs`; stop early once
    there are `min_runs` and the last reaches `now + min_scheduled_time`.
    `max_scheduled_runs` on the schedule caps the count further (the reference stores
    that field but never applies it).
    """
    now = _utc(now)
    limit = settings.max_runs
    if schedule.max_scheduled_runs is not None:
        limit = min(limit, schedule.max_scheduled_runs)
    horizon = now + settings.min_scheduled_time
    times: list[datetime.datetime] = []
    for when in iter_dates(schedule.schedule, start=now, end=now + settings.max_scheduled_time, n=limit):
        times.append(_utc(when))
        if len(times) >= settings.min_runs and _utc(when) >= horizon:
            break
    return times


# --- the runs themselves ------------------------------------------------------


def deployment_run_labels(deployment: Deployment, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Labels of a run created from a deployment: its labels, then system labels, then extra."""
    system = {"prefect.flow.id": str(deployment.flow_id), "prefect.deployment.id": str(deployment.id)}
    return {**(deployment.labels or {}), **system, **(extra or {})}


def merged_parameters(deployment: Deployment, schedule: DeploymentSchedule) -> dict[str, Any]:
    """Deployment parameters overlaid by the schedule's (Prefect #14524)."""
    return {**(deployment.parameters or {}), **(schedule.parameters or {})}


def scheduled_flow_run(deployment: Deployment, schedule: DeploymentSchedule, when: datetime.datetime) -> FlowRun:
    """One auto-scheduled run, field for field as the reference builds it."""
    when = _utc(when)
    key = scheduled_run_key(deployment.id, schedule.id, when)
    run_id = scheduled_run_id(key, when)
    state = State(
        type=StateType.SCHEDULED,
        name="Scheduled",
        message="Flow run scheduled",
        state_details=StateDetails(scheduled_time=when, flow_run_id=run_id),
    )
    return FlowRun(
        id=run_id,
        flow_id=deployment.flow_id,
        deployment_id=deployment.id,
        deployment_version=deployment.version,
        work_queue_name=deployment.work_queue_name,
        work_queue_id=deployment.work_queue_id,
        parameters=merged_parameters(deployment, schedule),
        infrastructure_document_id=deployment.infrastructure_document_id,
        idempotency_key=key,
        tags=[AUTO_SCHEDULED_TAG, *deployment.tags],
        labels=deployment_run_labels(deployment),
        auto_scheduled=True,
        state=state,
        state_id=state.id,
        state_type=StateType.SCHEDULED,
        state_name="Scheduled",
        next_scheduled_start_time=when,
        expected_start_time=when,
        created_by=CreatedBy(
            id=schedule.id,
            type="SCHEDULE",
            display_value=schedule.slug or type(schedule.schedule).__name__,
        ),
    )


def plan_scheduled_runs(
    deployment: Deployment,
    schedules: Iterable[DeploymentSchedule],
    now: datetime.datetime,
    existing: Mapping[UUID, Collection[datetime.datetime]] | None = None,
    settings: SchedulerSettings = SchedulerSettings(),
) -> list[FlowRun]:
    """Runs to create now for `deployment`, oldest first within each schedule.

    `existing` maps a schedule id to the times it already has auto-scheduled runs for;
    those ticks are skipped (the idempotency key would reject them anyway, this just
    saves the write). A paused deployment and inactive schedules plan nothing.
    """
    if deployment.paused:
        return []
    existing = existing or {}
    runs: list[FlowRun] = []
    for schedule in schedules:
        if not schedule.active:
            continue
        taken = {_utc(t) for t in existing.get(schedule.id, ())}
        for when in schedule_times(schedule, now, settings):
            if when not in taken:
                runs.append(scheduled_flow_run(deployment, schedule, when))
    return runs


def is_replaceable_scheduled_run(
    run: FlowRun,
    now: datetime.datetime,
    auto_scheduled_only: bool = False,
    future_only: bool = False,
) -> bool:
    """Would the reference delete this run when its deployment or schedules change?

    Scheduled, never started, not waiting for a concurrency slot; optionally only
    auto-scheduled ones and only those still in the future.
    """
    if run.state_type != StateType.SCHEDULED or run.state_name == "AwaitingConcurrencySlot":
        return False
    if run.run_count != 0:
        return False
    if auto_scheduled_only and not run.auto_scheduled:
        return False
    if future_only:
        start = run.next_scheduled_start_time
        if start is None or _utc(start) <= _utc(now):
            return False
    return True
