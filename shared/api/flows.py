"""/flows routes (Prefect 3.9.1 `server/api/flows.py` compatible)."""

from __future__ import annotations

import logging
from uuid import UUID

from fastapi import Body, Path, Response, status

from shared.api.dependencies import LimitBody, page_count
from shared.api.routing import ServerflowRouter
from shared.schemas.filters.deployments import DeploymentFilter, WorkPoolFilter
from shared.schemas.filters.runs import FlowFilter, FlowRunFilter, TaskRunFilter
from shared.schemas.flows import Flow, FlowCreate, FlowUpdate
from shared.schemas.pagination import FlowBulkDeleteResponse, FlowPaginationResponse
from shared.schemas.sorting import FlowSort
from shared.storage import flows as flow_store
from shared.storage import queries, run_lifecycle
from shared.storage.errors import ObjectNotFound, StorageError

logger = logging.getLogger("serverflow.api")
router = ServerflowRouter(prefix="/flows", tags=["Flows"])

BULK_OPERATION_LIMIT = 50


@router.post("/")
def create_flow(flow: FlowCreate, response: Response) -> Flow:
    """Creates a new flow from the provided schema. If a flow with the
    same name already exists, the existing flow is returned.

    For more information, see https://www.prefect.io/docs/v3/concepts/flows.
    """
    model, created = flow_store.upsert(flow)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return model


@router.patch("/{id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
def update_flow(flow: FlowUpdate, flow_id: UUID = Path(..., alias="id")) -> None:
    """Updates a flow."""
    flow_store.update(flow_id, flow)


@router.post("/count")
def count_flows(
    flows: FlowFilter | None = None,
    flow_runs: FlowRunFilter | None = None,
    task_runs: TaskRunFilter | None = None,
    deployments: DeploymentFilter | None = None,
    work_pools: WorkPoolFilter | None = None,
) -> int:
    """Count flows."""
    return len(queries.filter_flows(flows, flow_runs, task_runs, deployments, work_pools))


@router.get("/name/{name}")
def read_flow_by_name(name: str) -> Flow:
    """Get a flow by name."""
    flow = flow_store.read_by_name(name)
    if flow is None:
        raise ObjectNotFound("Flow not found")
    return flow


@router.get("/{id:uuid}")
def read_flow(flow_id: UUID = Path(..., alias="id")) -> Flow:
    """Get a flow by id."""
    return flow_store.read_or_404(flow_id)


@router.post("/filter")
def read_flows(
    limit: int = LimitBody(),
    offset: int = Body(0, ge=0),
    flows: FlowFilter | None = None,
    flow_runs: FlowRunFilter | None = None,
    task_runs: TaskRunFilter | None = None,
    deployments: DeploymentFilter | None = None,
    work_pools: WorkPoolFilter | None = None,
    sort: FlowSort = Body(FlowSort.NAME_ASC),
) -> list[Flow]:
    """Query for flows."""
    found = queries.filter_flows(flows, flow_runs, task_runs, deployments, work_pools, sort=sort)
    return found[offset : offset + limit]


@router.post("/paginate")
def paginate_flows(
    limit: int = LimitBody(),
    page: int = Body(1, ge=1),
    flows: FlowFilter | None = None,
    flow_runs: FlowRunFilter | None = None,
    task_runs: TaskRunFilter | None = None,
    deployments: DeploymentFilter | None = None,
    work_pools: WorkPoolFilter | None = None,
    sort: FlowSort = Body(FlowSort.NAME_ASC),
) -> FlowPaginationResponse:
    """Pagination query for flows."""
    found = queries.filter_flows(flows, flow_runs, task_runs, deployments, work_pools, sort=sort)
    start = (page - 1) * limit
    return FlowPaginationResponse(
        results=found[start : start + limit],
        count=len(found),
        limit=limit,
        pages=page_count(len(found), limit),
        page=page,
    )


@router.delete("/{id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_flow(flow_id: UUID = Path(..., alias="id")) -> None:
    """Delete a flow by id."""
    run_lifecycle.delete_flow(flow_id)


@router.post("/bulk_delete")
def bulk_delete_flows(
    flows: FlowFilter | None = Body(None),
    limit: int = Body(BULK_OPERATION_LIMIT, ge=1, le=BULK_OPERATION_LIMIT),
) -> FlowBulkDeleteResponse:
    """Delete matching flows with their runs; `deleted` lists exactly those that were deleted.

    Each flow is its own delete: one that fails (deleted concurrently, or a store error) is
    logged and left out of `deleted` instead of stopping the batch half-way unreported."""
    matched = queries.filter_flows(flows, None, None, None, None)[:limit]
    deleted = []
    for flow in matched:
        try:
            deleted.append(run_lifecycle.delete_flow(flow.id).id)
        except (StorageError, ValueError):
            logger.warning("bulk_delete: flow %s not deleted", flow.id, exc_info=True)
    return FlowBulkDeleteResponse(deleted=deleted)
