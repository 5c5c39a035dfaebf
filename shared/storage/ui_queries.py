"""The per-row lookups of the UI's list pages (`/ui/flows/*`, `/ui/flow_runs/count-task-runs`).

Each reads through keys only: deployments by flow (deployments' GSI2), a flow's soonest
scheduled run from the sparse scheduled-runs index (flow runs' GSI6, soonest first, each
partition read once for all the flows asked, stopping once each has its first run), task runs by flow run (task runs' GSI1).
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
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
from shared.storage import store
from shared.storage import task_runs as task_run_store

# Items fetched per page while looking for flows' soonest scheduled runs in a shared partition.
SCHEDULED_PAGE = 25
# The dashboard's task-run chart: 20 slices of the window, terminal runs only (as the reference).
DASHBOARD_BUCKETS = 20
TERMINAL_TYPES = (StateType.COMPLETED, StateType.CANCELLED, StateType.FAILED, StateType.CRASHED)
FAILED_TYPES = (StateType.FAILED, StateType.CRASHED)


def count_deployments_by_flow(flow_ids: Iterable[UUID]) -> dict[UUID, int]:
    return {flow_id: len(deployment_store.list_for_flow(flow_id)) for flow_id in dict.fromkeys(flow_ids)}


def next_runs_by_flow(flow_ids: Iterable[UUID]) -> dict[UUID, FlowRun | None]:
    """Each flow's SCHEDULED run with the earliest next scheduled start time (None: it has none).

    Every scheduled-runs partition that can hold a run of these flows (their deployments' queue or
    deployment partitions, and the unqueued one) is read once for all of them, soonest first, and
    left as soon as each flow it may hold has its first run.
    """
    wanted = list(dict.fromkeys(flow_ids))
    looking_in: dict[str, set[UUID]] = defaultdict(set)
    for flow_id in wanted:
        for deployment in deployment_store.list_for_flow(flow_id):
            looking_in[flow_run_store.scheduled_partition(deployment.work_queue_id, deployment.id)].add(flow_id)
    # Runs created without a deployment (or queue) wait in the unqueued partition.
    looking_in[flow_run_store.scheduled_partition(None, None)].update(wanted)
    soonest: dict[UUID, FlowRun] = {}
    for partition, flows in sorted(looking_in.items()):
        remaining = set(flows)
        for item in store.query(partition, index="GSI6", page_size=SCHEDULED_PAGE):
            run = flow_run_store.from_item(item)
            if run.flow_id not in remaining or run.state_type != StateType.SCHEDULED:
                continue
            remaining.discard(run.flow_id)
            current = soonest.get(run.flow_id)
            if current is None or (run.next_scheduled_start_time, str(run.id)) < (current.next_scheduled_start_time, str(current.id)):
                soonest[run.flow_id] = run
            if not remaining:
                break
    return {flow_id: soonest.get(flow_id) for flow_id in wanted}


def task_run_counts_by_flow_run(flow_run_ids: Iterable[UUID]) -> dict[UUID, int]:
    """Task runs per flow run, not counting the task runs that stand for subflows."""
    return {
        flow_run_id: sum(
            1
            for run in task_run_store.list_for_flow_run(flow_run_id)
            if run.state is None or run.state.state_details.child_flow_run_id is None
        )
        for flow_run_id in dict.fromkeys(flow_run_ids)
    }


def terminal_task_runs(
    task_runs: TaskRunFilter,
    flows: FlowFilter | None = None,
    flow_runs: FlowRunFilter | None = None,
    deployments: DeploymentFilter | None = None,
    work_pools: WorkPoolFilter | None = None,
    work_queues: WorkQueueFilter | None = None,
) -> list[TaskRun]:
    """Task runs in a terminal state matching the filters (work pool / queue filters join through flow runs)."""
    terminal = task_runs.model_copy(update={"state": TaskRunFilterState(type=TaskRunFilterStateType(any_=list(TERMINAL_TYPES)))})
    if work_pools is not None or work_queues is not None:
        matching = flow_run_store.filter_runs(
            flow_runs=flow_runs, flows=flows, deployments=deployments, work_pools=work_pools, work_queues=work_queues
        )
        flow_runs, flows, deployments = FlowRunFilter(id=FlowRunFilterId(any_=[r.id for r in matching])), None, None
    return task_run_store.filter_runs(task_runs=terminal, flow_runs=flow_runs, flows=flows, deployments=deployments)


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
