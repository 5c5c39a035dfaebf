"""/flow_runs routes (Prefect 3.9.1 `server/api/flow_runs.py` compatible).

Paths use the `{id:uuid}` convertor like the reference, so a malformed id is a 404
"Not Found" (no route), not a 422.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Body, Depends, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, Field

from shared.api import run_history
from shared.api.dependencies import LimitBody, created_by_header, page_count
from shared.api.flow_run_input import router as input_router
from shared.api.flow_run_logs import router as logs_download_router
from shared.api.routing import ServerflowRouter
from shared.api.run_criteria import JoinedFilters, joined_filters
from shared.dispatch.dispatcher import dispatch_new_run
from shared.maintenance.placement import work_queue_placement
from shared.schemas.base import now_utc
from shared.schemas.common import CreatedBy
from shared.schemas.filters.deployments import DeploymentFilter, WorkPoolFilter, WorkQueueFilter
from shared.schemas.filters.runs import FlowFilter, FlowRunFilter, TaskRunFilter
from shared.schemas.flow_runs import FlowRun, FlowRunCreate, FlowRunPaginationResponse, FlowRunUpdate
from shared.schemas.graph import DependencyResult, Graph
from shared.schemas.responses import (
    HistoryResponse,
    OrchestrationResult,
    SetStateStatus,
    StateAbortDetails,
    StateResponseDetails,
)
from shared.schemas.sorting import FlowRunSort
from shared.schemas.states import State, StateCreate, StateType
from shared.schemas.types import DateTime, KeyValueLabels
from shared.storage import deployments as deployment_store
from shared.storage import flow_run_graph, queries, run_lifecycle
from shared.storage import flow_runs as flow_run_store
from shared.storage.errors import ObjectAlreadyExists, RunNotFound
from shared.storage.flow_runs import FlowRunNotFound, MissingFlow

router = ServerflowRouter(prefix="/flow_runs", tags=["Flow Runs"])

BULK_OPERATION_LIMIT = 50


# Bulk responses are defined here until shared/schemas grows them (asked for).
class FlowRunBulkDeleteResponse(BaseModel):
    deleted: list[UUID] = Field(default_factory=list)


class FlowRunOrchestrationResult(BaseModel):
    flow_run_id: UUID
    status: SetStateStatus
    state: State | None = None
    details: StateResponseDetails


class FlowRunBulkSetStateResponse(BaseModel):
    results: list[FlowRunOrchestrationResult] = Field(default_factory=list)


# The reference's answer when a run points at a missing flow (its FK violation handler).
INTEGRITY_CONFLICT = (
    "Data integrity conflict. This usually means a unique or foreign key constraint was violated. "
    "See server logs for details."
)


@router.post("/")
def create_flow_run(
    flow_run: FlowRunCreate,
    response: Response,
    created_by: CreatedBy | None = Depends(created_by_header),
) -> FlowRun:
    """Create a flow run. If a flow run with the same flow_id and
    idempotency key already exists, the existing flow run will be returned.

    If no state is provided, the flow run will be created in a PENDING state.

    For more information, see https://www.prefect.io/docs/v3/concepts/flows.
    """
    try:
        run, created = run_lifecycle.create_flow_run(
            flow_run, created_by=created_by, placement=work_queue_placement(flow_run)
        )
    except MissingFlow:
        raise ObjectAlreadyExists(INTEGRITY_CONFLICT) from None
    if created:
        response.status_code = status.HTTP_201_CREATED
        # A run created SCHEDULED in a pool's queue wakes that pool's workers through SQS.
        dispatch_new_run(run, now_utc())
    return run


@router.patch("/{id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
def update_flow_run(flow_run: FlowRunUpdate, flow_run_id: UUID = Path(..., alias="id")) -> None:
    """Updates a flow run."""
    if flow_run.job_variables is not None:
        _check_job_variables_update(flow_run_id)
    flow_run_store.update(flow_run_id, flow_run)


def _check_job_variables_update(flow_run_id: UUID) -> None:
    run = flow_run_store.read_or_404(flow_run_id)
    if run.state is None:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail="Flow run state is required to update job variables but none exists"
        )
    if run.state.type != StateType.SCHEDULED:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            detail=f"Job variables for a flow run in state {run.state.type.name} cannot be updated",
        )
    deployment = None
    if run.deployment_id is not None:
        deployment = deployment_store.read(run.deployment_id)
    if deployment is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="A deployment for the flow run could not be found")


@router.post("/count")
def count_flow_runs(
    criteria: JoinedFilters = Depends(joined_filters),
) -> int:
    """Query for flow runs."""
    return queries.count_flow_runs(**criteria.filter_kwargs())


@router.post("/lateness")
def average_flow_run_lateness(
    criteria: JoinedFilters = Depends(joined_filters),
) -> float | None:
    """Query for average flow-run lateness in seconds."""
    runs = queries.filter_flow_runs(
        **criteria.filter_kwargs(),
    )
    if not runs:
        return None
    return sum(run.estimated_start_time_delta.total_seconds() for run in runs) / len(runs)


@router.post("/history")
def flow_run_history(
    # Annotated (not `= Body(...)`) keeps DateTime's validator: FastAPI drops it from a bare default.
    history_start: Annotated[DateTime, Body()],
    history_end: Annotated[DateTime, Body()],
    history_interval_seconds: float = Body(..., json_schema_extra={"format": "time-delta"}),
    flows: FlowFilter | None = None,
    flow_runs: FlowRunFilter | None = None,
    task_runs: TaskRunFilter | None = None,
    deployments: DeploymentFilter | None = None,
    work_pools: WorkPoolFilter | None = None,
    work_queues: WorkQueueFilter | None = None,
) -> list[HistoryResponse]:
    """Query for flow run history data across a given range and interval."""
    history_interval = run_history.history_interval(history_interval_seconds)
    runs = queries.filter_flow_runs(
        flow_runs=flow_runs,
        task_runs=task_runs,
        flows=flows,
        deployments=deployments,
        work_pools=work_pools,
        work_queues=work_queues,
    )
    return run_history.run_history(runs, history_start, history_end, history_interval)


@router.get("/{id:uuid}")
def read_flow_run(flow_run_id: UUID = Path(..., alias="id")) -> FlowRun:
    """Get a flow run by id."""
    return flow_run_store.read_or_404(flow_run_id)


@router.post(
    "/{id:uuid}/resume",
    response_model=OrchestrationResult,
    description=(
        "Resume a paused flow run. A pause that waits for input validates `run_input` against the "
        "schema it stored (REJECT with the reason when invalid) and stores it for the run on ACCEPT."
    ),
)
def resume_flow_run(
    response: Response,
    flow_run_id: UUID = Path(..., alias="id"),
    run_input: dict[str, Any] | None = Body(default=None, embed=True),
) -> Any:
    outcome = run_lifecycle.resume_flow_run(flow_run_id, run_input)
    response.status_code = outcome.http_status
    return outcome.to_result()


@router.post("/filter")
def read_flow_runs(
    sort: FlowRunSort = Body(FlowRunSort.ID_DESC),
    limit: int = LimitBody(),
    offset: int = Body(0, ge=0),
    criteria: JoinedFilters = Depends(joined_filters),
) -> list[FlowRun]:
    """Query for flow runs."""
    return queries.filter_flow_runs(
        **criteria.filter_kwargs(),
        sort=sort,
        offset=offset,
        limit=limit,
    )


@router.delete("/{id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_flow_run(flow_run_id: UUID = Path(..., alias="id")) -> None:
    """Delete a flow run by id."""
    run_lifecycle.delete_flow_run(flow_run_id)


@router.post("/{id:uuid}/set_state", response_model=OrchestrationResult)
def set_flow_run_state(
    response: Response,
    flow_run_id: UUID = Path(..., alias="id"),
    state: StateCreate = Body(...),
    force: bool = Body(False),
) -> Any:
    """Set a flow run state, invoking any orchestration rules."""
    outcome = run_lifecycle.set_flow_run_state(flow_run_id, state, force=force)
    # 201 when a new state was written (also a REJECT that scheduled a retry), else 200.
    response.status_code = outcome.http_status
    if outcome.write and outcome.state is not None and outcome.state.type == StateType.SCHEDULED:
        dispatch_new_run(outcome.run, now_utc())
    return outcome.to_result()


@router.post("/paginate")
def paginate_flow_runs(
    sort: FlowRunSort = Body(FlowRunSort.ID_DESC),
    limit: int = LimitBody(),
    page: int = Body(1, ge=1),
    criteria: JoinedFilters = Depends(joined_filters),
) -> FlowRunPaginationResponse:
    """Pagination query for flow runs."""
    # One read serves both the page and the count.
    matched = queries.filter_flow_runs(
        **criteria.filter_kwargs(),
        sort=sort,
    )
    start = (page - 1) * limit
    return FlowRunPaginationResponse(
        results=matched[start : start + limit],
        count=len(matched),
        limit=limit,
        pages=page_count(len(matched), limit),
        page=page,
    )


@router.patch("/{id:uuid}/labels", status_code=status.HTTP_204_NO_CONTENT, response_model=None)
def update_flow_run_labels(
    flow_run_id: UUID = Path(..., alias="id"),
    labels: KeyValueLabels = Body(...),
) -> Response | None:
    """Merge labels into the run's (values are scalars, as the reference's KeyValueLabels)."""
    try:
        flow_run_store.update_labels(flow_run_id, labels)
    except FlowRunNotFound:
        raise RunNotFound(f"Flow run with id {flow_run_id} not found") from None
    return None


@router.post("/bulk_delete")
def bulk_delete_flow_runs(
    flow_runs: FlowRunFilter | None = Body(None),
    limit: int = Body(BULK_OPERATION_LIMIT, ge=1, le=BULK_OPERATION_LIMIT),
) -> FlowRunBulkDeleteResponse:
    """Bulk delete flow runs matching the specified filter criteria.

    Returns the IDs of flow runs that were deleted.
    """
    deleted = []
    for run in queries.filter_flow_runs(flow_runs=flow_runs, limit=limit):
        try:
            run_lifecycle.delete_flow_run(run.id)
        except FlowRunNotFound:
            continue  # deleted concurrently: not ours to report
        deleted.append(run.id)
    return FlowRunBulkDeleteResponse(deleted=deleted)


@router.post("/bulk_set_state")
def bulk_set_flow_run_state(
    state: StateCreate = Body(...),
    flow_runs: FlowRunFilter | None = Body(None),
    force: bool = Body(False),
    limit: int = Body(BULK_OPERATION_LIMIT, ge=1, le=BULK_OPERATION_LIMIT),
) -> FlowRunBulkSetStateResponse:
    """Bulk set state for flow runs matching the specified filter criteria.

    Returns the orchestration results for each flow run.
    """
    results = []
    for run in queries.filter_flow_runs(flow_runs=flow_runs, limit=limit):
        try:
            outcome = run_lifecycle.set_flow_run_state(run.id, state, force=force)
        except Exception as exc:  # noqa: BLE001 - as the reference: one run's failure is its ABORT
            results.append(
                FlowRunOrchestrationResult(
                    flow_run_id=run.id, status=SetStateStatus.ABORT, details=StateAbortDetails(reason=str(exc))
                )
            )
            continue
        results.append(
            FlowRunOrchestrationResult(
                flow_run_id=run.id, status=outcome.status, state=outcome.state, details=outcome.details
            )
        )
    return FlowRunBulkSetStateResponse(results=results)


# --- the flow-run page's graph (issue 12) ----------------------------------------------


@router.get(
    "/{id:uuid}/graph", tags=["Flow Run Graph"], description="Get a task run dependency map for a given flow run."
)
def read_flow_run_graph_v1(
    flow_run_id: UUID = Path(..., description="The flow run id", alias="id"),
) -> list[DependencyResult]:
    return flow_run_graph.dependencies(flow_run_id)


@router.get(
    "/{id:uuid}/graph-v2",
    tags=["Flow Run Graph"],
    description="Get a graph of the tasks and subflow runs for the given flow run",
)
def read_flow_run_graph_v2(
    flow_run_id: UUID = Path(..., description="The flow run id", alias="id"),
    since: Annotated[DateTime | None, Query(description="Only include runs that start or end after this time.")] = None,
) -> Graph:
    try:
        return flow_run_graph.graph(flow_run_id, since=since)
    except flow_run_graph.FlowRunGraphTooLarge as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from exc


# Flow run input and log download routes live in their own modules; this domain's Lambda serves them.
router.routes.extend([*input_router.routes, *logs_download_router.routes])
