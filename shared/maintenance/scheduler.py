"""The scheduler tick (EventBridge, every minute): make the auto-scheduled runs every
active deployment schedule needs, then send every run entering the 15-minute SQS delay
window to its pool's queue.

Idempotency: a run's id and idempotency key are pure functions of (deployment, schedule,
tick) (shared.scheduling.scheduled_run_id/key) and each run is written with put_new on
both, so overlapping invocations plan the same runs and exactly one write of each wins.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from uuid import UUID

from shared.dispatch import dispatcher
from shared.scheduling import (
    SchedulerSettings,
    plan_scheduled_runs,
    schedule_needs_runs,
    schedule_times,
    scheduled_flow_run,
)
from shared.schemas.base import now_utc
from shared.schemas.flow_runs import FlowRun
from shared.storage import deployments as deployment_store
from shared.storage import deployments_pools, deployments_runs, dispatch_marks, run_lifecycle
from shared.storage.deployments import StoredDeployment

logger = logging.getLogger("serverflow.maintenance.scheduler")


@dataclass
class SchedulerResult:
    deployments: int = 0
    runs_created: int = 0
    runs_skipped: int = 0  # already written by an overlapping invocation
    dispatched: int = 0
    errors: list[str] = field(default_factory=list)


def _existing_times(runs: list[FlowRun]) -> dict[UUID, list[datetime.datetime]]:
    """Future auto-scheduled runs by the schedule that made them (created_by.id)."""
    by_schedule: dict[UUID, list[datetime.datetime]] = defaultdict(list)
    for run in runs:
        if run.created_by is not None and run.created_by.id is not None and run.next_scheduled_start_time:
            by_schedule[run.created_by.id].append(run.next_scheduled_start_time)
    return by_schedule


def plan_for(deployment: StoredDeployment, now: datetime.datetime, settings: SchedulerSettings) -> list[FlowRun]:
    existing = _existing_times(deployments_runs.future_auto_scheduled(deployment.id, now))
    # As the reference: only schedules with too few (or too near) future runs are topped up.
    needing = [
        s for s in deployment.schedules if s.active and schedule_needs_runs(existing.get(s.id, []), now, settings)
    ]
    return plan_scheduled_runs(deployment, needing, now, existing, settings)


def _pool_id(deployment: StoredDeployment, cache: dict[str, UUID | None]) -> UUID | None:
    name = deployment.work_pool_name
    if not name:
        return None
    if name not in cache:
        pool = deployments_pools.read_pool(name)
        cache[name] = pool.id if pool else None
    return cache[name]


def insert_runs(
    deployment: StoredDeployment, runs: list[FlowRun], now: datetime.datetime, pools: dict[str, UUID | None]
) -> list[FlowRun]:
    """Write planned runs of a deployment; the ones an overlapping invocation already wrote
    (same deterministic id / idempotency key) are skipped. Returns the runs written."""
    written = []
    for run in runs:
        run.created = run.updated = now
        run.work_pool_name = deployment.work_pool_name
        run.work_pool_id = _pool_id(deployment, pools)
        if run_lifecycle.insert_scheduled_flow_run(run):
            written.append(run)
    return written


def schedule_deployment(
    deployment: StoredDeployment, start: datetime.datetime, settings: SchedulerSettings, now: datetime.datetime
) -> list[FlowRun]:
    """`POST /deployments/{id}/schedule`: runs of every active schedule from `start`, bounded by
    `settings` (the request's min/max runs and times). Unlike the tick it ignores a pause and
    existing runs (the reference's endpoint does too); idempotency keys make repeats no-ops."""
    planned = [
        scheduled_flow_run(deployment, schedule, when)
        for schedule in deployment.schedules
        if schedule.active
        for when in schedule_times(schedule, start, settings)
    ]
    return insert_runs(deployment, planned, now, {})


def create_runs(now: datetime.datetime, settings: SchedulerSettings, result: SchedulerResult) -> None:
    pools: dict[str, UUID | None] = {}
    for deployment in deployment_store.list_to_schedule():
        result.deployments += 1
        try:
            planned = plan_for(deployment, now, settings)
            created = insert_runs(deployment, planned, now, pools)
            result.runs_created += len(created)
            result.runs_skipped += len(planned) - len(created)
        except Exception as exc:
            logger.exception("Scheduling deployment %s failed", deployment.id)
            result.errors.append(f"{deployment.id}: {exc}")


def dispatch_due(now: datetime.datetime, result: SchedulerResult) -> None:
    """Send the runs due within the delay window (dispatcher.due_in_pool_queues), skipping at once
    those whose dispatch marker says they were sent (read with BatchGetItem, not attempted writes)."""
    due = list(dispatcher.due_in_pool_queues(now))
    sent = dispatch_marks.already_dispatched([(run.id, run.next_scheduled_start_time) for _, _, run in due])
    for pool, queue, run in due:
        if str(run.id) not in sent:
            result.dispatched += dispatcher.dispatch_run(run, pool, queue, now)


def tick(now: datetime.datetime | None = None, settings: SchedulerSettings | None = None) -> SchedulerResult:
    now = now or now_utc()
    settings = settings or SchedulerSettings.from_env()
    result = SchedulerResult()
    create_runs(now, settings, result)
    dispatch_due(now, result)
    return result
