"""Runs from deployments: `POST /deployments/{id}/create_flow_run` and the runner's
`POST /deployments/get_scheduled_flow_runs` (included by shared.api.deployments)."""

from __future__ import annotations

import datetime
from uuid import UUID

from fastapi import Body, Depends, HTTPException, Path, Response, status

from shared.api.dependencies import LimitBody
from shared.api.flow_runs import _created_by
from shared.api.routing import ServerflowRouter
from shared.maintenance.dispatch import dispatch_new_run
from shared.orchestration import orchestrate_flow_run
from shared.schemas.base import now_utc
from shared.schemas.common import CreatedBy
from shared.schemas.deployments import DeploymentFlowRunCreate
from shared.schemas.flow_runs import FlowRun
from shared.schemas.types import DateTime
from shared.scheduling import JobVariablesError, validate_flow_run_job_variables
from shared.scheduling.deployment_runs import (
    ParameterSchemaError,
    check_parameters,
    flow_run_from_deployment,
    initial_state,
    run_parameters,
)
from shared.storage import deployments as deployment_store
from shared.storage import deployments_pools
from shared.storage import flow_runs as flow_run_store

# Same prefix as shared.api.deployments, whose router adopts these routes.
router = ServerflowRouter(prefix="/deployments", tags=["Deployments"])


def _check_job_variables(deployment: deployment_store.StoredDeployment, request: DeploymentFlowRunCreate) -> None:
    """Pool template -> deployment -> run, with required variables enforced (422)."""
    if deployment.work_queue_id is None or not deployment.work_pool_name:
        return  # no pool, nothing to validate against (as the reference)
    template = deployments_pools.base_job_template(deployment.work_pool_name)
    try:
        validate_flow_run_job_variables(template, deployment.job_variables, request.job_variables)
    except JobVariablesError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from None


def _queue_for(deployment: deployment_store.StoredDeployment, request: DeploymentFlowRunCreate) -> deployments_pools.QueueRef:
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


@router.post("/{id:uuid}/create_flow_run")
def create_flow_run_from_deployment(
    flow_run: DeploymentFlowRunCreate,
    response: Response,
    deployment_id: UUID = Path(..., alias="id"),
    created_by: CreatedBy | None = Depends(_created_by),
) -> FlowRun:
    """A run of the deployment, SCHEDULED for now unless a state is given (201; an
    existing idempotency key returns that run with 200). A run due within the SQS delay
    window is sent to its pool's queue straight away."""
    deployment = deployment_store.read(deployment_id)
    if deployment is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Deployment not found")
    parameters = run_parameters(deployment, flow_run.parameters)
    try:
        check_parameters(deployment, parameters, flow_run.enforce_parameter_schema)
    except ParameterSchemaError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    _check_job_variables(deployment, flow_run)
    if flow_run.idempotency_key:
        existing = flow_run_store.read_by_idempotency_key(deployment.flow_id, flow_run.idempotency_key)
        if existing is not None:
            return existing
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
    # As POST /flow_runs/: the initial state is forced (bookkeeping only, no rules).
    outcome = orchestrate_flow_run(run, initial_state(flow_run.state), force=True, now=now)
    new_run = outcome.run
    if not flow_run_store.insert_built(new_run, outcome):
        winner = (
            flow_run_store.read_by_idempotency_key(deployment.flow_id, flow_run.idempotency_key)
            if flow_run.idempotency_key
            else None
        )
        if winner is None:
            raise HTTPException(status.HTTP_409_CONFLICT, detail="Flow run already exists")
        return winner
    dispatch_new_run(new_run, now)
    response.status_code = status.HTTP_201_CREATED
    return flow_run_store.with_estimates(new_run)


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
    deployment_store.mark_polled(deployments, now_utc())
    far = datetime.datetime.max.replace(tzinfo=datetime.timezone.utc)
    runs.sort(key=lambda r: r.next_scheduled_start_time or far)
    return runs[:limit]
