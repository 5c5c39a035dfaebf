"""Queries that join entities, as the reference's EXISTS sub-queries do.

Storage's upper floor: the only module where the filters of several entities meet. Each
joined filter becomes the set of ids it allows (a flow filter: flow ids; a task-run filter:
the flow run ids of the matching task runs...), handed to the filter of the entity listed
(flow_runs_filter, task_runs_filter, deployments_filter), which reads the narrowest key or
index and checks each candidate against the sets. The joins recurse (a flow-run filter
joins deployments, a deployment filter joins flow runs) within this module only.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.schemas.filters.base import FilterContext
from shared.schemas.filters.deployments import DeploymentFilter, WorkPoolFilter, WorkQueueFilter
from shared.schemas.filters.runs import FlowFilter, FlowRunFilter, TaskRunFilter
from shared.schemas.flow_runs import FlowRun
from shared.schemas.flows import Flow
from shared.schemas.sorting import DeploymentSort, FlowRunSort, FlowSort, TaskRunSort, apply_sort
from shared.schemas.task_runs import TaskRun
from shared.storage import deployments as deployment_store
from shared.storage import deployments_filter, flow_runs_filter, task_runs_filter
from shared.storage import flows as flow_store
from shared.storage.deployments import StoredDeployment

# --- flow runs --------------------------------------------------------------------------


def filter_flow_runs(
    flow_runs: FlowRunFilter | None = None,
    task_runs: TaskRunFilter | None = None,
    flows: FlowFilter | None = None,
    deployments: DeploymentFilter | None = None,
    work_pools: WorkPoolFilter | None = None,
    work_queues: WorkQueueFilter | None = None,
    sort: FlowRunSort = FlowRunSort.ID_DESC,
    offset: int = 0,
    limit: int | None = None,
) -> list[FlowRun]:
    """Runs matching every given filter, sorted, then offset/limit (see flow_runs_filter)."""
    task_run_flow_run_ids = (
        None
        if task_runs is None
        else {tr.flow_run_id for tr in filter_task_runs(task_runs=task_runs) if tr.flow_run_id}
    )
    return flow_runs_filter.filter_runs(
        flow_runs,
        task_run_flow_run_ids=task_run_flow_run_ids,
        flow_ids=None if flows is None else {flow.id for flow in filter_flows(flows)},
        deployment_ids=None if deployments is None else {d.id for d in filter_deployments(deployments)},
        work_pools=work_pools,
        work_queues=work_queues,
        sort=sort,
        offset=offset,
        limit=limit,
    )


def count_flow_runs(
    flow_runs: FlowRunFilter | None = None,
    task_runs: TaskRunFilter | None = None,
    flows: FlowFilter | None = None,
    deployments: DeploymentFilter | None = None,
    work_pools: WorkPoolFilter | None = None,
    work_queues: WorkQueueFilter | None = None,
) -> int:
    """How many runs match every given filter. Without joins, a flow-run filter the index read
    answers alone (no criteria, or only an expected-start window) is counted on the index, not
    by fetching each run (flow_runs_filter.count_in_index)."""
    if task_runs is None and flows is None and deployments is None and work_pools is None and work_queues is None:
        counted = flow_runs_filter.count_in_index(flow_runs)
        if counted is not None:
            return counted
    return len(
        filter_flow_runs(
            flow_runs=flow_runs,
            task_runs=task_runs,
            flows=flows,
            deployments=deployments,
            work_pools=work_pools,
            work_queues=work_queues,
        )
    )


# --- task runs --------------------------------------------------------------------------


def filter_task_runs(
    task_runs: TaskRunFilter | None = None,
    flow_runs: FlowRunFilter | None = None,
    flows: FlowFilter | None = None,
    deployments: DeploymentFilter | None = None,
    sort: TaskRunSort = TaskRunSort.ID_DESC,
    offset: int = 0,
    limit: int | None = None,
) -> list[TaskRun]:
    """Task runs matching every filter (the flow-run side joins through their flow runs), sorted and paged."""
    flow_run_ids = None
    if flow_runs is not None or flows is not None or deployments is not None:
        flow_run_ids = {run.id for run in filter_flow_runs(flow_runs=flow_runs, flows=flows, deployments=deployments)}
    return task_runs_filter.filter_task_runs(
        task_runs, flow_run_ids=flow_run_ids, sort=sort, offset=offset, limit=limit
    )


def count_task_runs(
    task_runs: TaskRunFilter | None = None,
    flow_runs: FlowRunFilter | None = None,
    flows: FlowFilter | None = None,
    deployments: DeploymentFilter | None = None,
) -> int:
    return len(filter_task_runs(task_runs=task_runs, flow_runs=flow_runs, flows=flows, deployments=deployments))


# --- deployments ------------------------------------------------------------------------


def filter_deployments(
    deployments: DeploymentFilter | None = None,
    work_pools: WorkPoolFilter | None = None,
    flows: FlowFilter | None = None,
    flow_runs: FlowRunFilter | None = None,
    task_runs: TaskRunFilter | None = None,
    work_queues: WorkQueueFilter | None = None,
    sort: DeploymentSort = DeploymentSort.NAME_ASC,
    **_: Any,
) -> list[StoredDeployment]:
    """Deployments matching every filter (see deployments_filter); other criteria are ignored."""
    ids = None
    if flow_runs is not None or task_runs is not None:
        runs = filter_flow_runs(flow_runs=flow_runs, task_runs=task_runs)
        ids = {run.deployment_id for run in runs if run.deployment_id is not None}
    return deployments_filter.filter_deployments(
        deployments,
        work_pools=work_pools,
        work_queues=work_queues,
        flow_ids=None if flows is None else {flow.id for flow in filter_flows(flows)},
        ids=ids,
        sort=sort,
    )


# --- flows ------------------------------------------------------------------------------


def _hint_uuids(hints: dict[str, list[object]], attr: str) -> list[UUID] | None:
    values = hints.get(attr)
    return [UUID(str(v)) for v in values] if values is not None else None


def flow_ids_with_runs(flow_runs: FlowRunFilter | None, task_runs: TaskRunFilter | None) -> set[UUID] | None:
    """Flows having a run that matches (None: no run criteria given)."""
    if flow_runs is None and task_runs is None:
        return None
    return {run.flow_id for run in filter_flow_runs(flow_runs=flow_runs, task_runs=task_runs)}


def flow_ids_with_deployments(
    deployments: DeploymentFilter | None, work_pools: WorkPoolFilter | None
) -> set[UUID] | None:
    if deployments is None and work_pools is None:
        return None
    return {d.flow_id for d in filter_deployments(deployments=deployments, work_pools=work_pools)}


def flow_filter_context() -> FilterContext:
    return FilterContext(flow_has_deployment=deployment_store.flow_has_deployment)


def filter_flows(
    flows: FlowFilter | None,
    flow_runs: FlowRunFilter | None = None,
    task_runs: TaskRunFilter | None = None,
    deployments: DeploymentFilter | None = None,
    work_pools: WorkPoolFilter | None = None,
    sort: FlowSort = FlowSort.NAME_ASC,
) -> list[Flow]:
    hints = flows.index_hints() if flows is not None else {}
    allowed: set[UUID] | None = None
    for ids in (flow_ids_with_runs(flow_runs, task_runs), flow_ids_with_deployments(deployments, work_pools)):
        if ids is not None:
            allowed = ids if allowed is None else allowed & ids
    id_hint = _hint_uuids(hints, "id")
    if allowed is not None:
        id_hint = [i for i in (id_hint or allowed) if i in allowed]
    names = hints.get("name")
    candidates = flow_store.candidates(
        ids=id_hint, names=[str(n) for n in names] if names is not None and id_hint is None else None
    )
    ctx = flow_filter_context()
    matched = [flow for flow in candidates if flows is None or flows.matches(flow, ctx)]
    return apply_sort(matched, sort)
