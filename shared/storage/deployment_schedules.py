"""A deployment's schedules: embedded in the deployment item (see deployments.py).

A schedule has its own id (the sub-resource `/deployments/{id}/schedules/{schedule_id}`)
but lives inside its deployment's body, so adding, changing or removing one is a single
write conditioned on the deployment's `version`, and slug uniqueness per deployment is
checked on the same read. Newest-updated first, as the reference lists them.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID, uuid4

from shared.schemas.base import now_utc
from shared.schemas.schedules import DeploymentSchedule, DeploymentScheduleCreate, DeploymentScheduleUpdate
from shared.storage import deployments as deployment_store
from shared.storage.deployments import StoredDeployment
from shared.storage.errors import ObjectAlreadyExists, ObjectNotFound


class ScheduleNotFound(ObjectNotFound):
    pass


class DuplicateScheduleSlug(ObjectAlreadyExists):
    pass


def new_schedules(deployment_id: UUID, creates: Iterable[DeploymentScheduleCreate]) -> list[DeploymentSchedule]:
    stamp = now_utc()
    return [
        DeploymentSchedule(
            id=uuid4(),
            created=stamp,
            updated=stamp,
            deployment_id=deployment_id,
            **create.model_dump(exclude={"replaces"}),
        )
        for create in creates
    ]


def _check_slugs(schedules: list[DeploymentSchedule]) -> None:
    slugs = [s.slug for s in schedules if s.slug is not None]
    if len(slugs) != len(set(slugs)):
        raise DuplicateScheduleSlug("Schedule slugs must be unique within a deployment.")


def ordered(schedules: list[DeploymentSchedule]) -> list[DeploymentSchedule]:
    return sorted(schedules, key=lambda s: s.updated or now_utc(), reverse=True)


def read_all(deployment_id: UUID) -> list[DeploymentSchedule]:
    return ordered(deployment_store.read_or_404(deployment_id).schedules)


def create(deployment_id: UUID, creates: list[DeploymentScheduleCreate]) -> list[DeploymentSchedule]:
    added = new_schedules(deployment_id, creates)

    def change(d: StoredDeployment) -> StoredDeployment:
        d.schedules = [*d.schedules, *added]
        _check_slugs(d.schedules)
        return d

    deployment_store.modify(deployment_id, change)
    return added


def apply_update(schedule: DeploymentSchedule, update: DeploymentScheduleUpdate) -> DeploymentSchedule:
    """Write the fields the client sent (`replaces` is a deploy-time directive, not stored).

    Deliberate difference: the reference writes every non-None field, so a PATCH of only
    `active` also resets `parameters` to {} (its default); we keep unsent fields.
    """
    values = update.model_dump(exclude_unset=True, exclude_none=True, exclude={"replaces"})
    if "schedule" in values:
        values["schedule"] = update.schedule  # keep the typed schedule, not its dict
    return schedule.model_copy(update={**values, "updated": now_utc()})


def update(
    deployment_id: UUID,
    update: DeploymentScheduleUpdate,
    schedule_id: UUID | None = None,
    slug: str | None = None,
) -> DeploymentSchedule:
    """Change one schedule, picked by id (the sub-resource) or by slug (PATCH deployment)."""
    changed: list[DeploymentSchedule] = []

    def change(d: StoredDeployment) -> StoredDeployment:
        changed.clear()
        result = []
        for s in d.schedules:
            if (schedule_id is not None and s.id == schedule_id) or (schedule_id is None and slug and s.slug == slug):
                s = apply_update(s, update)
                changed.append(s)
            result.append(s)
        if not changed:
            raise ScheduleNotFound("Schedule not found.")
        _check_slugs(result)
        d.schedules = result
        return d

    deployment_store.modify(deployment_id, change)
    return changed[0]


def delete(deployment_id: UUID, schedule_id: UUID) -> None:
    def change(d: StoredDeployment) -> StoredDeployment:
        kept = [s for s in d.schedules if s.id != schedule_id]
        if len(kept) == len(d.schedules):
            raise ScheduleNotFound("Schedule not found.")
        d.schedules = kept
        return d

    deployment_store.modify(deployment_id, change)
