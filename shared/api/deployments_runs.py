"""Runs from deployments: `POST /deployments/{id}/create_flow_run` and the runner's
`POST /deployments/get_scheduled_flow_runs` (included by shared.api.deployments)."""

from __future__ import annotations

import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Body, Depends, HTTPException, Path, Response, status

from shared.api.dependencies import LimitBody, created_by_header
from shared.api.routing import ServerflowRouter
from shared.dispatch.dispatcher import dispatch_new_run
from shared.maintenance import scheduler
from shared.scheduling import JobVariablesError, SchedulerSettings, validate_flow_run_job_variables
from shared.scheduling.deployment_runs import (
    ParameterSchemaError,
    check_parameters,
    flow_run_from_deployment,
    initial_state,
    run_parameters,
)
from shared.schemas.base import now_utc
from shared.schemas.common import CreatedBy
from shared.schemas.deployments import DeploymentFlowRunCreate
from shared.schemas.flow_runs import FlowRun, FlowRunBulkCreateResponse, FlowRunCreateResult
from shared.schemas.types import DateTime
from shared.schemas.work_queue_check import WorkQueueCore, queue_accepts
from shared.storage import deployment_status, deployments_pools, run_lifecycle
from shared.storage import deployments as deployment_store
from shared.storage import flow_runs as flow_run_store
from shared.storage import work_queues as work_queue_store
from shared.storage.errors import ObjectNotFound

# Same prefix as shared.api.deployments, whose router adopts these routes.
router = ServerflowRouter(prefix="/deployments", tags=["Deployments"])

# The reference's cap on one bulk create.
BULK_CREATE_LIMIT = 100


def _check_job_variables(deployment: deployment_store.StoredDeployment, request: DeploymentFlowRunCreate) -> None:
    """Pool template -> deployment -> run, with required variables enforced (422)."""
    if deployment.work_queue_id is None or not deployment.work_pool_name:
        return  # no pool, nothing to validate against (as the reference)
    template = deployments_pools.base_job_template(deployment.work_pool_name)
    try:
        validate_flow_run_job_variables(template, deployment.job_variables, request.job_variables)
    except JobVariablesError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from None


def _queue_for(
    deployment: deployment_store.StoredDeployment, request: DeploymentFlowRunCreate
) -> deployments_pools.QueueRef:
    if not request.work_queue_name:
        pool = deployments_pools.read_pool(deployment.work_pool_name) if deployment.work_pool_name else None
        return deployments_pools.QueueRef(
            deployment.work_queue_id, deployment.work_queue_name, pool.id if pool else None, deployment.work_pool_name
        )
    if deployment.work_queue_id is None or not deployment.work_pool_name:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            detail=(
                f"Cannot create flow run in work queue {request.work_queue_name} because deployment "
                f"{deployment.id} is not associated with a work pool. Please remove work_pool_name and try again."
            ),
        )
    return deployments_pools.resolve_queue(deployment.work_pool_name, request.work_queue_name)


def _create_run(
    deployment: deployment_store.StoredDeployment,
    flow_run: DeploymentFlowRunCreate,
    parameters: dict[str, Any],
    created_by: CreatedBy | None,
) -> tuple[FlowRun, bool]:
    """The one path that makes a run of a deployment (single and bulk create): (run, created).

    An existing idempotency key returns that run, not created. Raises HTTPException for a
    bad request (job variables, queue)."""
    _check_job_variables(deployment, flow_run)
    if flow_run.idempotency_key:
        existing = flow_run_store.read_by_idempotency_key(deployment.flow_id, flow_run.idempotency_key)
        if existing is not None:
            return existing, False  # before resolving (and maybe creating) the named queue
    queue = _queue_for(deployment, flow_run)
    now = now_utc()
    run = flow_run_from_deployment(
        deployment,
        flow_run,
        parameters,
        (queue.work_queue_id, queue.work_queue_name),
        (queue.work_pool_id, queue.work_pool_name),
        created_by,
        now,
    )
    try:
        new_run, created = run_lifecycle.create_built_flow_run(run, initial_state(flow_run.state), now)
    except run_lifecycle.FlowRunAlreadyExists:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="Flow run already exists") from None
    if created:
        dispatch_new_run(new_run, now)
    return new_run, created


def _read_deployment_or_404(deployment_id: UUID) -> deployment_store.StoredDeployment:
    deployment = deployment_store.read(deployment_id)
    if deployment is None:
        raise ObjectNotFound("Deployment not found")
    return deployment


@router.post(
    "/{id:uuid}/create_flow_run",
    description=(
        "Create a flow run from a deployment, SCHEDULED for now unless a state is given (201; an "
        "existing idempotency key returns that run with 200). Parameters not given come from the deployment."
    ),
)
def create_flow_run_from_deployment(
    flow_run: DeploymentFlowRunCreate,
    response: Response,
    deployment_id: UUID = Path(..., alias="id"),
    created_by: CreatedBy | None = Depends(created_by_header),
) -> FlowRun:
    """A run due within the SQS delay window is sent to its pool's queue straight away."""
    deployment = _read_deployment_or_404(deployment_id)
    parameters = run_parameters(deployment, flow_run.parameters)
    try:
        check_parameters(deployment, parameters, flow_run.enforce_parameter_schema)
    except ParameterSchemaError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    run, created = _create_run(deployment, flow_run, parameters, created_by)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return run


@router.post(
    "/{id:uuid}/create_flow_run/bulk",
    description=(
        f"Create up to {BULK_CREATE_LIMIT} flow runs from a deployment (400 for more). Each run is created "
        "as by create_flow_run; a run that cannot be made is reported FAILED with its error, the others are made."
    ),
)
def bulk_create_flow_runs_from_deployment(
    flow_runs: list[DeploymentFlowRunCreate] = Body(..., description="List of flow run configurations to create"),
    deployment_id: UUID = Path(..., alias="id", description="The deployment id"),
    created_by: CreatedBy | None = Depends(created_by_header),
) -> FlowRunBulkCreateResponse:
    if len(flow_runs) > BULK_CREATE_LIMIT:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail=f"Cannot create more than {BULK_CREATE_LIMIT} flow runs at once."
        )
    deployment = _read_deployment_or_404(deployment_id)
    results: list[FlowRunCreateResult] = []
    for flow_run in flow_runs:
        if flow_run.work_queue_name and (deployment.work_queue_id is None or not deployment.work_pool_name):
            # The reference words this per-run error differently from the single route's 400.
            error = (
                f"Cannot create flow run in work queue {flow_run.work_queue_name} because deployment "
                "is not associated with a work pool."
            )
            results.append(FlowRunCreateResult(status="FAILED", error=error))
            continue
        parameters = run_parameters(deployment, flow_run.parameters)
        try:
            check_parameters(deployment, parameters, flow_run.enforce_parameter_schema)
            run, _ = _create_run(deployment, flow_run, parameters, created_by)
        except ParameterSchemaError as exc:
            results.append(FlowRunCreateResult(status="FAILED", error=_bulk_parameter_error(exc)))
        except HTTPException as exc:
            results.append(FlowRunCreateResult(status="FAILED", error=str(exc.detail)))
        else:
            results.append(FlowRunCreateResult(flow_run_id=run.id, status="CREATED"))
    return FlowRunBulkCreateResponse(results=results)


def _bulk_parameter_error(exc: ParameterSchemaError) -> str:
    # The reference words these per-run errors differently from the single route's 409.
    if exc.__cause__ is None:
        return "Parameter schema enforcement is enabled but deployment has no valid schema."
    return f"Parameter validation failed: {exc.__cause__}"


@router.post("/get_scheduled_flow_runs")
def get_scheduled_flow_runs_for_deployments(
    deployment_ids: list[UUID] = Body(...),
    scheduled_before: DateTime | None = Body(None),
    limit: int = LimitBody(),
) -> list[FlowRun]:
    """SCHEDULED runs of these deployments, soonest first (a runner's poll, `flow.serve`).

    One range query per deployment on the sparse scheduled index; the poll also marks the
    deployments READY, as the reference does.
    """
    deployments = deployment_store.read_many(deployment_ids)
    runs: list[FlowRun] = []
    for deployment in deployments:
        waiting = flow_run_store.read_scheduled(
            work_queue_id=deployment.work_queue_id, deployment_id=deployment.id, before=scheduled_before, limit=None
        )
        runs.extend(r for r in waiting if r.deployment_id == deployment.id)
    deployment_status.mark_polled(deployments, now_utc())
    far = datetime.datetime.max.replace(tzinfo=datetime.UTC)
    runs.sort(key=lambda r: r.next_scheduled_start_time or far)
    return runs[:limit]


@router.post(
    "/{id:uuid}/schedule",
    description=(
        "Schedule runs for a deployment; for backfills, give start/end times in the past. Runs start on or "
        "after `start_time` (default now), at most `max_runs`, none after `end_time`, at least `min_runs`, "
        "and until at least `start_time + min_time` (seconds). Defaults are the scheduler's settings."
    ),
)
def schedule_deployment(
    deployment_id: UUID = Path(..., alias="id", description="The deployment id"),
    start_time: Annotated[DateTime | None, Body(description="The earliest date to schedule")] = None,
    end_time: Annotated[DateTime | None, Body(description="The latest date to schedule")] = None,
    min_time: float | None = Body(
        None,
        description="Runs will be scheduled until at least this long after the `start_time`",
        json_schema_extra={"format": "time-delta"},
    ),
    min_runs: int | None = Body(None, ge=0, description="The minimum number of runs to schedule"),
    max_runs: int | None = Body(None, ge=0, description="The maximum number of runs to schedule"),
) -> None:
    deployment = _read_deployment_or_404(deployment_id)
    defaults = SchedulerSettings.from_env()
    now = now_utc()
    start = start_time or now
    try:
        end = end_time or start + defaults.max_scheduled_time
        settings = SchedulerSettings(
            min_runs=defaults.min_runs if min_runs is None else min_runs,
            max_runs=defaults.max_runs if max_runs is None else max_runs,
            min_scheduled_time=defaults.min_scheduled_time
            if min_time is None
            else datetime.timedelta(seconds=min_time),
            max_scheduled_time=end - start,
        )
        scheduler.schedule_deployment(deployment, start, settings, now)
    except (OverflowError, ValueError):  # NaN/Infinity or a time past year 9999
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            detail="start_time, end_time and min_time must stay within the supported datetime range (year 1 to 9999).",
        ) from None


@router.get(
    "/{id:uuid}/work_queue_check",
    deprecated=True,
    description=(
        "Work queues able to pick up the deployment's runs by their (legacy) filters: the queue's tags are a "
        "subset of the deployment's and its deployment_ids, if any, name the deployment."
    ),
)
def work_queue_check_for_deployment(
    deployment_id: UUID = Path(..., alias="id", description="The deployment id"),
) -> list[WorkQueueCore]:
    deployment = _read_deployment_or_404(deployment_id)
    return [
        WorkQueueCore.model_validate(q.model_dump())
        for q in work_queue_store.list_all()
        if queue_accepts(q, deployment)
    ]
