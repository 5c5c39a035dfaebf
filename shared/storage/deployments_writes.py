"""Deployment writes with the reference's side effects (models/deployments.py semantics).

- upsert on (flow_id, name): fields the client sent overwrite, the rest are kept; the
  schedules are replaced; future auto-scheduled runs are dropped so the scheduler
  re-plans them from the new definition.
- update (PATCH): the sent fields; schedules replaced, or patched by slug when every
  schedule (existing and sent) has one; future auto-scheduled runs dropped.
- pause drops every not-yet-started auto-scheduled run; resume only flips the flag.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from shared.schemas.base import now_utc
from shared.schemas.deployments import DeploymentCreate, DeploymentStatus, DeploymentUpdate
from shared.schemas.schedules import DeploymentScheduleCreate, DeploymentScheduleUpdate
from shared.storage import deployment_limits, deployment_schedules, deployments_runs
from shared.storage import deployments as deployment_store
from shared.storage import flows as flow_store
from shared.storage.deployments import StoredDeployment
from shared.storage.deployments_pools import QueueRef
from shared.storage.errors import ObjectAlreadyExists, StorageError

# Fields of DeploymentCreate/Update that are not stored as sent.
_NOT_STORED = {"schedules", "work_pool_name", "version_info", "concurrency_limit", "global_concurrency_limit_id"}
# Sent as null, these keep the stored value (the reference ignores a null job_variables on PATCH).
_KEPT_WHEN_NULL = {"job_variables"}


class ScheduleUpdateError(StorageError):
    """A PATCH whose schedules cannot be applied (422 with this detail)."""


def _labels(flow_id: UUID, user: dict[str, Any] | None) -> dict[str, Any]:
    flow = flow_store.read(flow_id)
    return {**((flow.labels or {}) if flow else {}), "prefect.flow.id": str(flow_id), **(user or {})}


def _apply_limits(deployment: StoredDeployment, sent: dict[str, Any]) -> None:
    # The reference keeps the limit as a v2 limit named `deployment:<id>` (or a linked
    # global limit); the deployment shows it as `global_concurrency_limit`.
    if "concurrency_limit" in sent:
        deployment.concurrency_limit_requested = sent["concurrency_limit"]
        deployment.global_concurrency_limit = deployment_limits.sync_own_limit(deployment.id, sent["concurrency_limit"])
    if "global_concurrency_limit_id" in sent:
        deployment.global_concurrency_limit_id = sent["global_concurrency_limit_id"]
        if sent["global_concurrency_limit_id"] is not None:
            deployment.global_concurrency_limit = deployment_limits.linked_limit(sent["global_concurrency_limit_id"])


def upsert(create: DeploymentCreate, queue: QueueRef) -> tuple[StoredDeployment, bool]:
    """Return (deployment, created)."""
    sent = create.model_dump(exclude_unset=True)
    fields = {k: v for k, v in sent.items() if k not in _NOT_STORED}
    fields.update(
        work_queue_id=queue.work_queue_id,
        work_queue_name=queue.work_queue_name,
        work_pool_name=queue.work_pool_name or create.work_pool_name,
        labels=_labels(create.flow_id, create.labels),
    )
    now = now_utc()
    for _ in range(deployment_store.MAX_WRITE_ATTEMPTS):
        existing_id = deployment_store.id_for_name(create.flow_id, create.name)
        if existing_id is None:
            new_id = uuid4()
            # The reference's stored default schema is {} (accepts anything), not null.
            deployment = StoredDeployment(
                id=new_id,
                created=now,
                updated=now,
                status=DeploymentStatus.NOT_READY,
                schedules=deployment_schedules.new_schedules(new_id, create.schedules),
                **{"parameter_openapi_schema": {}, **fields},
            )
            _apply_limits(deployment, sent)
            try:
                deployment_store.insert(deployment)
            except ObjectAlreadyExists:
                continue  # a concurrent upsert created it first: update theirs
            return deployment, True

        def change(d: StoredDeployment) -> StoredDeployment:
            updated = StoredDeployment.model_validate({**d.model_dump(), **fields})
            updated.concurrency_limit_requested = d.concurrency_limit_requested
            updated.global_concurrency_limit_id = d.global_concurrency_limit_id
            updated.schedules = deployment_schedules.new_schedules(d.id, create.schedules)
            _apply_limits(updated, sent)
            return updated

        try:
            _, after = deployment_store.modify(existing_id, change)
        except deployment_store.DeploymentNotFound:
            continue  # deleted meanwhile: create it afresh
        deployments_runs.delete_replaceable(after, now_utc(), auto_scheduled_only=True, future_only=True)
        return after, False
    raise ObjectAlreadyExists(f"Deployment {create.name!r} is being changed concurrently; retry.")


def plan_schedule_patch(
    existing: StoredDeployment, sent: list[DeploymentScheduleUpdate]
) -> tuple[list[DeploymentScheduleUpdate], list[DeploymentScheduleUpdate]] | None:
    """Slug-targeted PATCH of schedules: (to patch, to create), or None for "replace all".

    The reference's rule: when every existing and every sent schedule has a slug, patch by
    slug (or `replaces`) and create the rest; when the existing ones have slugs but some sent
    one does not, refuse (it would silently drop schedules).
    """
    all_sent_slugged = all(s.slug is not None for s in sent)
    all_existing_slugged = bool(existing.schedules) and all(s.slug is not None for s in existing.schedules)
    if not all_existing_slugged:
        return None
    if not all_sent_slugged:
        raise ScheduleUpdateError(
            "Please provide a slug for each schedule in your request to ensure schedules are updated correctly."
        )
    current = {s.slug for s in existing.schedules}
    targets = [s.replaces for s in sent if s.replaces]
    if len(targets) != len(set(targets)):
        raise ScheduleUpdateError("Multiple schedules have 'replaces' targeting the same slug.")
    to_patch, to_create = [], []
    for schedule in sent:
        if schedule.replaces and schedule.slug in current and schedule.slug not in targets:
            raise ScheduleUpdateError(
                f"Cannot rename schedule from '{schedule.replaces}' to '{schedule.slug}': "
                f"a schedule with slug '{schedule.slug}' already exists."
            )
        if (schedule.replaces or schedule.slug) in current:
            to_patch.append(schedule)
        elif schedule.schedule is not None:
            to_create.append(schedule)
        else:
            raise ScheduleUpdateError("Unable to create new deployment schedules without a schedule configuration.")
    return to_patch, to_create


def _patched_schedules(d: StoredDeployment, update: DeploymentUpdate) -> list[Any]:
    plan = plan_schedule_patch(d, update.schedules)
    if plan is None:
        creates = [
            DeploymentScheduleCreate(
                schedule=s.schedule,
                active=s.active if s.active is not None else True,
                parameters=s.parameters,
                slug=s.slug,
                max_scheduled_runs=s.max_scheduled_runs,
            )
            for s in update.schedules
            if s.schedule is not None
        ]
        return deployment_schedules.new_schedules(d.id, creates)
    to_patch, to_create = plan
    by_slug = {s.slug: s for s in d.schedules}
    for patch in to_patch:
        target = patch.replaces or patch.slug
        by_slug[target] = deployment_schedules.apply_update(by_slug[target], patch)
    creates = [
        DeploymentScheduleCreate(
            schedule=s.schedule, active=s.active if s.active is not None else True, parameters=s.parameters, slug=s.slug
        )
        for s in to_create
    ]
    return [*by_slug.values(), *deployment_schedules.new_schedules(d.id, creates)]


def update(deployment_id: UUID, update: DeploymentUpdate, queue: QueueRef | None) -> StoredDeployment:
    sent = update.model_dump(exclude_unset=True)
    fields = {k: v for k, v in sent.items() if k not in _NOT_STORED and not (k in _KEPT_WHEN_NULL and v is None)}
    if queue is not None:
        fields.update(
            work_queue_id=queue.work_queue_id,
            work_queue_name=queue.work_queue_name,
            work_pool_name=queue.work_pool_name,
        )

    def change(d: StoredDeployment) -> StoredDeployment:
        updated = StoredDeployment.model_validate({**d.model_dump(), **fields})
        updated.concurrency_limit_requested = d.concurrency_limit_requested
        updated.global_concurrency_limit_id = d.global_concurrency_limit_id
        updated.schedules = _patched_schedules(d, update) if "schedules" in sent else d.schedules
        _apply_limits(updated, sent)
        return updated

    _, after = deployment_store.modify(deployment_id, change)
    deployments_runs.delete_replaceable(after, now_utc(), auto_scheduled_only=True, future_only=True)
    return after


def set_paused(deployment_id: UUID, paused: bool) -> StoredDeployment:
    def change(d: StoredDeployment) -> StoredDeployment | None:
        if d.paused == paused:
            return None
        d.paused = paused
        return d

    _, after = deployment_store.modify(deployment_id, change)
    if paused:
        deployments_runs.delete_replaceable(after, now_utc(), auto_scheduled_only=True)
    return after


def delete(deployment_id: UUID) -> StoredDeployment:
    deployment = deployment_store.read_or_404(deployment_id)
    deployments_runs.delete_all_for_deployment(deployment, now_utc())
    deployment_store.delete(deployment)
    deployment_limits.delete_own_limit(deployment.id)
    return deployment
