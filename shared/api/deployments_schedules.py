"""`/deployments/{id}/schedules` sub-resource (included by shared.api.deployments).

A schedule's `parameters` override the deployment's for the runs it makes (Prefect
#14524). Changing or deleting a schedule drops the deployment's not-yet-started
auto-scheduled runs, so the scheduler re-plans them from what is now configured.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import Body, Path, status

from shared.api.routing import ServerflowRouter
from shared.schemas.base import now_utc
from shared.schemas.schedules import DeploymentSchedule, DeploymentScheduleCreate, DeploymentScheduleUpdate
from shared.storage import deployment_schedules, deployments_runs
from shared.storage import deployments as deployment_store
from shared.storage.deployment_schedules import DuplicateScheduleSlug, ScheduleNotFound
from shared.storage.errors import ObjectAlreadyExists, ObjectNotFound

# Same prefix as shared.api.deployments, whose router adopts these routes.
router = ServerflowRouter(prefix="/deployments", tags=["Deployments"])


def _deployment_or_404(deployment_id: UUID) -> deployment_store.StoredDeployment:
    deployment = deployment_store.read(deployment_id)
    if deployment is None:
        raise ObjectNotFound("Deployment not found.")
    return deployment


@router.get("/{id:uuid}/schedules")
def read_deployment_schedules(deployment_id: UUID = Path(..., alias="id")) -> list[DeploymentSchedule]:
    """Read the schedules of a deployment."""
    return deployment_schedules.ordered(_deployment_or_404(deployment_id).schedules)


@router.post("/{id:uuid}/schedules", status_code=status.HTTP_201_CREATED)
def create_deployment_schedules(
    deployment_id: UUID = Path(..., alias="id"),
    schedules: list[DeploymentScheduleCreate] = Body(...),
) -> list[DeploymentSchedule]:
    """Create one or more schedules for a deployment."""
    _deployment_or_404(deployment_id)
    try:
        return deployment_schedules.create(deployment_id, schedules)
    except DuplicateScheduleSlug as exc:
        raise ObjectAlreadyExists(str(exc)) from None


@router.patch("/{id:uuid}/schedules/{schedule_id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
def update_deployment_schedule(
    deployment_id: UUID = Path(..., alias="id"),
    schedule_id: UUID = Path(...),
    schedule: DeploymentScheduleUpdate = Body(...),
) -> None:
    """Update a schedule of a deployment."""
    _deployment_or_404(deployment_id)
    try:
        deployment_schedules.update(deployment_id, schedule, schedule_id=schedule_id)
    except ScheduleNotFound:
        raise ObjectNotFound("Schedule not found.") from None
    except DuplicateScheduleSlug as exc:
        raise ObjectAlreadyExists(str(exc)) from None
    deployments_runs.delete_replaceable(
        _deployment_or_404(deployment_id), now_utc(), auto_scheduled_only=True, future_only=True
    )


@router.delete("/{id:uuid}/schedules/{schedule_id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_deployment_schedule(
    deployment_id: UUID = Path(..., alias="id"),
    schedule_id: UUID = Path(...),
) -> None:
    """Delete a schedule of a deployment."""
    _deployment_or_404(deployment_id)
    try:
        deployment_schedules.delete(deployment_id, schedule_id)
    except ScheduleNotFound:
        raise ObjectNotFound("Schedule not found.") from None
    deployments_runs.delete_replaceable(_deployment_or_404(deployment_id), now_utc(), auto_scheduled_only=True)
