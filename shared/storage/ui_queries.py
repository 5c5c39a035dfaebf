"""The per-row lookups of the UI's list pages (`/ui/flows/*`, `/ui/flow_runs/count-task-runs`).

Each reads through keys only: deployments by flow (deployments' GSI2), a flow's soonest
scheduled run from the sparse per-flow scheduled index (flow runs' GSI8, one item per flow),
task runs by flow run (task runs' GSI1).
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable
from uuid import UUID

from shared.schemas.filters.deployments import DeploymentFilter, WorkPoolFilter, WorkQueueFilter
from shared.schemas.filters.runs import (
    FlowFilter,
    FlowRunFilter,
    FlowRunFilterId,
    TaskRunFilter,
    TaskRunFilterState,
    TaskRunFilterStateType,
)
from shared.schemas.flow_runs import FlowRun
from shared.schemas.states import StateType
from shared.schemas.task_runs import TaskRun
from shared.schemas.ui import CountByState, TaskRunCount
from shared.storage import deployments as deployment_store
from shared.storage import flow_runs as flow_run_store
from shared.storage import queries, store
from shared.storage import task_runs as task_run_store

# The dashboard's task-run chart: 20 slices of the window, terminal runs only (as the reference).
DASHBOARD_BUCKETS = 20
TERMINAL_TYPES = (StateType.COMPLETED, StateType.CANCELLED, StateType.FAILED, StateType.CRASHED)
FAILED_TYPES = (StateType.FAILED, StateType.CRASHED)


def count_deployments_by_flow(flow_ids: Iterable[UUID]) -> dict[UUID, int]:
    """One COUNT Query per flow (no deployment is sent back), sent concurrently."""
    return store.map_concurrently(deployment_store.count_for_flow, flow_ids)


def next_runs_by_flow(flow_ids: Iterable[UUID]) -> dict[UUID, FlowRun | None]:
    """Each flow's SCHEDULED run with the earliest next scheduled start time (None: it has none).

    One Query per flow on the flow runs' per-flow scheduled index (GSI8), soonest first: one item
    read per flow that has a next run, none for a flow without.
    """
    return {flow_id: flow_run_store.read_next_scheduled(flow_id) for flow_id in dict.fromkeys(flow_ids)}


def task_run_counts_by_flow_run(flow_run_ids: Iterable[UUID]) -> dict[UUID, int]:
    """Task runs per flow run, not counting the task runs that stand for subflows (task_runs.count_for_flow_run:
    a COUNT Query of each flow run's guards, and its runs stored before), the flow runs concurrently."""
    return store.map_concurrently(task_run_store.count_for_flow_run, flow_run_ids)


def terminal_task_runs(
    task_runs: TaskRunFilter,
    flows: FlowFilter | None = None,
    flow_runs: FlowRunFilter | None = None,
    deployments: DeploymentFilter | None = None,
    work_pools: WorkPoolFilter | None = None,
    work_queues: WorkQueueFilter | None = None,
) -> list[TaskRun]:
    """Task runs in a terminal state matching the filters (work pool / queue filters join through flow runs)."""
    terminal = task_runs.model_copy(
        update={"state": TaskRunFilterState(type=TaskRunFilterStateType(any_=list(TERMINAL_TYPES)))}
    )
    if work_pools is not None or work_queues is not None:
        matching = queries.filter_flow_runs(
            flow_runs=flow_runs, flows=flows, deployments=deployments, work_pools=work_pools, work_queues=work_queues
        )
        flow_runs, flows, deployments = FlowRunFilter(id=FlowRunFilterId(any_=[r.id for r in matching])), None, None
    return queries.filter_task_runs(task_runs=terminal, flow_runs=flow_runs, flows=flows, deployments=deployments)


def bucket_task_run_counts(
    runs: Iterable[TaskRun], start: datetime.datetime, end: datetime.datetime, buckets: int = DASHBOARD_BUCKETS
) -> list[TaskRunCount]:
    """Terminal task runs per equal slice of [start, end) by start time: failed (FAILED/CRASHED) vs the rest."""
    counts = [TaskRunCount(completed=0, failed=0) for _ in range(buckets)]
    width = (end - start) / buckets
    if width <= datetime.timedelta(0):
        return counts
    for run in runs:
        if run.start_time is None or run.state_type not in TERMINAL_TYPES:
            continue
        index = int((run.start_time - start) / width)
        if 0 <= index < buckets:
            if run.state_type in FAILED_TYPES:
                counts[index].failed += 1
            else:
                counts[index].completed += 1
    return counts


def count_by_state(runs: Iterable[TaskRun]) -> CountByState:
    counts = Counter(run.state_type.value for run in runs if run.state_type is not None)
    return CountByState(**{name: counts.get(name, 0) for name in CountByState.model_fields})
