"""A deployment's concurrency limit is the v2 limit named `deployment:<id>` (as the
reference creates it), or an existing global limit the deployment links to
(`global_concurrency_limit_id`). The deployment item keeps a copy of the limit object as
`global_concurrency_limit` (its id says which limit governs the deployment's runs)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.schemas.concurrency_limits import ConcurrencyLimitV2Create, ConcurrencyLimitV2Update, deployment_limit_name
from shared.schemas.deployments import ConcurrencyOptions
from shared.storage import concurrency_leases as lease_store
from shared.storage import concurrency_limits as limit_store
from shared.storage import deployments as deployment_store
from shared.storage.concurrency_limits import StoredLimit
from shared.storage.errors import ConcurrentUpdate, ObjectAlreadyExists


def sync_own_limit(deployment_id: UUID, limit: int | None) -> dict[str, Any] | None:
    """Create, update or (limit None) delete the `deployment:<id>` limit; its JSON or None."""
    name = deployment_limit_name(deployment_id)
    existing = limit_store.read_by_name(name)
    if limit is None:
        if existing is not None:
            lease_store.delete_limit(existing)
        return None
    if existing is not None:
        stored = limit_store.update(name, ConcurrencyLimitV2Update(limit=limit))
    else:
        try:
            stored = limit_store.create(ConcurrencyLimitV2Create(name=name, limit=limit))
        except ObjectAlreadyExists:  # a concurrent upsert of the same deployment created it
            stored = limit_store.update(name, ConcurrencyLimitV2Update(limit=limit))
    return stored.response().model_dump(mode="json")


def linked_limit(limit_id: UUID) -> dict[str, Any] | None:
    stored = limit_store.read(limit_id)
    return stored.response().model_dump(mode="json") if stored is not None else None


def delete_own_limit(deployment_id: UUID) -> None:
    existing = limit_store.read_by_name(deployment_limit_name(deployment_id))
    if existing is not None:
        try:
            lease_store.delete_limit(existing)
        except ConcurrentUpdate:
            pass  # deleted concurrently


def governing_limit(deployment_id: UUID) -> tuple[StoredLimit, ConcurrencyOptions | None] | None:
    """The limit that holds this deployment's runs, as read now, with its options."""
    deployment = deployment_store.read(deployment_id)
    if deployment is None:
        return None
    limit_id = deployment.global_concurrency_limit_id
    if limit_id is None and deployment.global_concurrency_limit:
        limit_id = UUID(str(deployment.global_concurrency_limit["id"]))
    if limit_id is None:
        return None
    stored = limit_store.read(limit_id)
    return (stored, deployment.concurrency_options) if stored is not None else None
