"""A deployment's flow runs, as the deployment paths and the scheduler need them.

Reads use the flow runs' own indexes (see ACCESS_PATTERNS.md, "Flow runs"):
- future runs of a deployment: GSI4 (by deployment; the runs' index anchors, runs fetched by key) with `GSI4SK >= <uuid7 floor of now>`.
  Auto-scheduled runs get ids whose UUIDv7 time is their *scheduled* time
  (shared.scheduling.scheduled_run_id), so this range holds exactly the runs scheduled
  from now on (plus runs created from now on), however long the deployment's history.
- every not-yet-started run: the sparse "scheduled" GSI6 partition of the deployment's work
  queue (or of the deployment when it has no queue), plus the range above for runs that sit
  in another queue (a `work_queue_name` override on create_flow_run).
"""

from __future__ import annotations

import datetime
from uuid import UUID

from shared.scheduling import is_replaceable_scheduled_run
from shared.schemas.flow_runs import FlowRun
from shared.schemas.states import StateType
from shared.storage import flow_runs as flow_run_store
from shared.storage import run_lifecycle, store
from shared.storage.deployments import StoredDeployment


def uuid7_floor(when: datetime.datetime) -> str:
    """The smallest UUIDv7 string with time `when`: ids sort as text in time order."""
    ms = int(when.timestamp() * 1000)
    hex_ms = f"{ms:012x}"
    return f"{hex_ms[:8]}-{hex_ms[8:12]}"


def runs_from(deployment_id: UUID, since: datetime.datetime) -> list[FlowRun]:
    """Runs of the deployment whose id time is at or after `since` (see module docstring)."""
    items = store.query(flow_run_store.deployment_partition(deployment_id), index="GSI4", sk_gte=uuid7_floor(since))
    return list(flow_run_store.runs_of(items))


def future_auto_scheduled(deployment_id: UUID, now: datetime.datetime) -> list[FlowRun]:
    """Still-SCHEDULED auto-scheduled runs at or after now (what the scheduler already made)."""
    return [
        run for run in runs_from(deployment_id, now) if run.auto_scheduled and run.state_type == StateType.SCHEDULED
    ]


def unstarted_scheduled(deployment: StoredDeployment, now: datetime.datetime) -> list[FlowRun]:
    """Every SCHEDULED run of the deployment that may not have started."""
    waiting = flow_run_store.read_scheduled(work_queue_id=deployment.work_queue_id, deployment_id=deployment.id)
    found = {run.id: run for run in waiting if run.deployment_id == deployment.id}
    for run in runs_from(deployment.id, now):
        found.setdefault(run.id, run)
    return [run for run in found.values() if run.state_type == StateType.SCHEDULED]


def delete_replaceable(
    deployment: StoredDeployment,
    now: datetime.datetime,
    auto_scheduled_only: bool = True,
    future_only: bool = False,
) -> int:
    """The reference's `_delete_scheduled_runs`: drop Scheduled, never-started runs.

    Each delete is conditioned on the run's state id, so a run a worker claimed meanwhile stays.
    """
    candidates = runs_from(deployment.id, now) if future_only else unstarted_scheduled(deployment, now)
    deleted = 0
    for run in candidates:
        if is_replaceable_scheduled_run(run, now, auto_scheduled_only=auto_scheduled_only, future_only=future_only):
            deleted += run_lifecycle.delete_flow_run_if_unchanged(run)
    return deleted


def delete_all_for_deployment(deployment: StoredDeployment, now: datetime.datetime) -> int:
    """Deleting a deployment drops its unstarted scheduled runs, manual ones included."""
    return delete_replaceable(deployment, now, auto_scheduled_only=False, future_only=False)
