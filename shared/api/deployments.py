"""/deployments routes (Prefect 3.9.1 `server/api/deployments.py` compatible).

Paths use the `{id:uuid}` convertor like the reference, so a malformed id is a 404.
Run creation from a deployment lives in deployments_runs.py and the schedules
sub-resource in deployments_schedules.py; their routes are adopted here, so one Lambda serves
the whole /deployments tree.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from fastapi import Body, Depends, HTTPException, Path, Response, status

from shared.api.dependencies import LimitBody, page_count
from shared.api.deployments_runs import router as runs_router
from shared.api.deployments_schedules import router as schedules_router
from shared.api.routing import ServerflowRouter
from shared.api.run_criteria import JoinedFilters, joined_filters
from shared.scheduling import JobVariablesError, validate_deployment_job_variables
from shared.schemas.deployments import (
    Deployment,
    DeploymentBulkDeleteResponse,
    DeploymentCreate,
    DeploymentPaginationResponse,
    DeploymentUpdate,
)
from shared.schemas.filters.deployments import DeploymentFilter
from shared.schemas.sorting import DeploymentSort
from shared.storage import deployments as deployment_store
from shared.storage import deployments_pools, deployments_writes
from shared.storage import flows as flow_store
from shared.storage.deployments_writes import ScheduleUpdateError
from shared.storage.errors import ObjectAlreadyExists, ObjectNotFound, StorageError
from shared.storage.queries import filter_deployments

logger = logging.getLogger("serverflow.api")
router = ServerflowRouter(prefix="/deployments", tags=["Deployments"])

BULK_OPERATION_LIMIT = 50
# The reference's answer when a deployment points at a missing flow (its FK violation).
INTEGRITY_CONFLICT = (
    "Data integrity conflict. This usually means a unique or foreign key constraint was violated. "
    "See server logs for details."
)


def _validated_pool_job_variables(pool_name: str | None, job_variables: dict[str, Any] | None, creating: bool) -> None:
    """The pool must exist (404) and the deployment's job variables fit its template (422).

    Required variables are not enforced here: a deployment may leave them to its runs.
    """
    if not pool_name or pool_name == deployments_pools.DEFAULT_AGENT_WORK_POOL_NAME:
        return
    pool = deployments_pools.pool_or_404(pool_name)
    try:
        validate_deployment_job_variables(pool.base_job_template, job_variables, creating=creating)
    except JobVariablesError as exc:
        code = status.HTTP_422_UNPROCESSABLE_ENTITY if creating else status.HTTP_409_CONFLICT
        raise HTTPException(code, detail=str(exc)) from None


@router.post("/")
def create_deployment(deployment: DeploymentCreate, response: Response) -> Deployment:
    """Upsert on (flow_id, name): 201 when created, 200 when an existing one was updated."""
    if flow_store.read(deployment.flow_id) is None:
        raise ObjectAlreadyExists(INTEGRITY_CONFLICT)
    _validated_pool_job_variables(deployment.work_pool_name, deployment.job_variables, creating=True)
    queue = deployments_pools.resolve_queue(deployment.work_pool_name, deployment.work_queue_name)
    model, created = deployments_writes.upsert(deployment, queue)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return model


@router.patch("/{id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
def update_deployment(deployment: DeploymentUpdate, deployment_id: UUID = Path(..., alias="id")) -> None:
    """Update a deployment. Fields left unset keep their values; schedules, when given, replace the deployment's schedules."""
    existing = deployment_store.read(deployment_id)
    if existing is None:
        raise ObjectNotFound("Deployment not found.")
    sent = deployment.model_fields_set
    queue = None
    if deployment.work_pool_name:
        _validated_pool_job_variables(deployment.work_pool_name, deployment.job_variables, creating=False)
        queue = deployments_pools.resolve_queue(deployment.work_pool_name, deployment.work_queue_name)
    elif "work_pool_name" in sent and deployment.work_pool_name is None:
        # Explicitly cleared: runs are no longer routed to a pool (e.g. switching to serve).
        queue = deployments_pools.QueueRef(None, deployment.work_queue_name or existing.work_queue_name)
    try:
        deployments_writes.update(deployment_id, deployment, queue)
    except ScheduleUpdateError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from None


@router.get("/name/{flow_name}/{deployment_name}")
def read_deployment_by_name(flow_name: str, deployment_name: str) -> Deployment:
    """Get a deployment using the name of the flow and the deployment."""
    deployment = deployment_store.read_by_name(flow_name, deployment_name)
    if deployment is None:
        raise ObjectNotFound("Deployment not found")
    return deployment


@router.get("/{id:uuid}")
def read_deployment(deployment_id: UUID = Path(..., alias="id")) -> Deployment:
    """Get a deployment by id."""
    return deployment_store.read_or_404(deployment_id)


@router.post("/filter")
def read_deployments(
    limit: int = LimitBody(),
    offset: int = Body(0, ge=0),
    criteria: JoinedFilters = Depends(joined_filters),
    sort: DeploymentSort = Body(DeploymentSort.NAME_ASC),
) -> list[Deployment]:
    """Query for deployments."""
    found = filter_deployments(**criteria.filter_kwargs(), sort=sort)
    return list(found[offset : offset + limit])


@router.post("/paginate")
def paginate_deployments(
    limit: int = LimitBody(),
    page: int = Body(1, ge=1),
    criteria: JoinedFilters = Depends(joined_filters),
    sort: DeploymentSort = Body(DeploymentSort.NAME_ASC),
) -> DeploymentPaginationResponse:
    """Pagination query for flow runs."""
    found = filter_deployments(**criteria.filter_kwargs(), sort=sort)
    start = (page - 1) * limit
    return DeploymentPaginationResponse(
        results=list(found[start : start + limit]),
        count=len(found),
        limit=limit,
        pages=page_count(len(found), limit),
        page=page,
    )


@router.post("/count")
def count_deployments(
    criteria: JoinedFilters = Depends(joined_filters),
) -> int:
    """Count deployments."""
    return len(filter_deployments(**criteria.filter_kwargs()))


@router.delete("/{id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_deployment(deployment_id: UUID = Path(..., alias="id")) -> None:
    """Delete a deployment by id."""
    deployments_writes.delete(deployment_id)


@router.post("/bulk_delete")
def bulk_delete_deployments(
    deployments: DeploymentFilter | None = Body(None),
    limit: int = Body(BULK_OPERATION_LIMIT, ge=1, le=BULK_OPERATION_LIMIT),
) -> DeploymentBulkDeleteResponse:
    """Delete matching deployments; `deleted` lists exactly those deleted (a failure is logged, skipped)."""
    matched = filter_deployments(deployments=deployments)[:limit]
    deleted = []
    for deployment in matched:
        try:
            deleted.append(deployments_writes.delete(deployment.id).id)
        except (StorageError, ValueError):
            logger.warning("bulk_delete: deployment %s not deleted", deployment.id, exc_info=True)
    return DeploymentBulkDeleteResponse(deleted=deleted)


@router.post("/{id:uuid}/pause_deployment")
def pause_deployment(deployment_id: UUID = Path(..., alias="id")) -> None:
    """Pause: the scheduler stops, and not-yet-started auto-scheduled runs are deleted."""
    deployments_writes.set_paused(deployment_id, True)


@router.post("/{id:uuid}/resume_deployment")
def resume_deployment(deployment_id: UUID = Path(..., alias="id")) -> None:
    """Set a deployment schedule to active. Runs will be scheduled immediately."""
    deployments_writes.set_paused(deployment_id, False)


# Adopt the sub-modules' routes as plain routes (not an included router), so this router
# lists every /deployments route itself: the template route-ownership test reads it.
router.routes.extend([*runs_router.routes, *schedules_router.routes])
