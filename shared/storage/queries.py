"""Queries that join entities, as the reference's SQL sub-queries do.

Each list endpoint reads the narrowest key or index for its own filter (via the
filter's index hints), then narrows by the joined filters' id sets.
"""

from __future__ import annotations

from uuid import UUID

from shared.schemas.filters.base import FilterContext
from shared.schemas.filters.deployments import DeploymentFilter, WorkPoolFilter
from shared.schemas.filters.runs import FlowFilter, FlowRunFilter, TaskRunFilter
from shared.schemas.flows import Flow
from shared.schemas.sorting import FlowSort, apply_sort
from shared.storage import flows as flow_store


def _hint_uuids(hints: dict[str, list[object]], attr: str) -> list[UUID] | None:
    values = hints.get(attr)
    return [UUID(str(v)) for v in values] if values is not None else None


def flow_ids_with_runs(flow_runs: FlowRunFilter | None, task_runs: TaskRunFilter | None) -> set[UUID] | None:
    """Flows having a run that matches (None: no run criteria given)."""
    if flow_runs is None and task_runs is None:
        return None
    from shared.storage import flow_runs as flow_run_store

    runs = flow_run_store.filter_runs(flow_runs=flow_runs, task_runs=task_runs)
    return {run.flow_id for run in runs}


def flow_ids_with_deployments(
    deployments: DeploymentFilter | None, work_pools: WorkPoolFilter | None
) -> set[UUID] | None:
    if deployments is None and work_pools is None:
        return None
    from shared.storage import deployments as deployment_store  # added with the deployments domain

    return {d.flow_id for d in deployment_store.filter_deployments(deployments=deployments, work_pools=work_pools)}


def flow_filter_context() -> FilterContext:
    def has_deployment(flow_id: UUID) -> bool:
        try:
            from shared.storage import deployments as deployment_store
        except ImportError:
            return False
        return deployment_store.flow_has_deployment(flow_id)

    return FilterContext(flow_has_deployment=has_deployment)


def filter_flows(
    flows: FlowFilter | None,
    flow_runs: FlowRunFilter | None,
    task_runs: TaskRunFilter | None,
    deployments: DeploymentFilter | None,
    work_pools: WorkPoolFilter | None,
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


def delete_flow_cascade(flow_id: UUID) -> Flow:
    """Delete a flow with its flow runs (the reference's foreign keys cascade)."""
    flow_store.read_or_404(flow_id)
    from shared.storage import flow_runs as flow_run_store

    flow_run_store.delete_for_flow(flow_id)
    return flow_store.delete(flow_id)
