"""The work pool / work queue lookups the deployment paths need (the reference's WorkerLookups).

Pools and queues belong to the work-pools repository; this module only asks it the few
questions deployments have: does the pool exist, which queue does (pool, queue name) mean
(created on first use, as the reference does), what is the pool's base job template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from shared.schemas.work_pools import WorkQueueCreate
from shared.storage import work_pools as pool_store
from shared.storage import work_queues as queue_store
from shared.storage.errors import ObjectAlreadyExists, ObjectNotFound
from shared.storage.work_pools import StoredWorkPool

# The reference's legacy agent pool: never validated against a base job template.
DEFAULT_AGENT_WORK_POOL_NAME = "default-agent-pool"


class WorkPoolMissing(ObjectNotFound):
    """404 'Work pool "<name>" not found.' as the reference words it."""


@dataclass(frozen=True)
class QueueRef:
    work_queue_id: UUID | None
    work_queue_name: str | None
    work_pool_id: UUID | None = None
    work_pool_name: str | None = None


def read_pool(name: str) -> StoredWorkPool | None:
    return pool_store.read_by_name(name)


def pool_or_404(name: str) -> StoredWorkPool:
    pool = read_pool(name)
    if pool is None:
        raise WorkPoolMissing(f'Work pool "{name}" not found.')
    return pool


def base_job_template(pool_name: str | None) -> dict[str, Any] | None:
    if not pool_name:
        return None
    pool = read_pool(pool_name)
    return pool.base_job_template if pool is not None else None


def resolve_queue(pool_name: str | None, queue_name: str | None) -> QueueRef:
    """(pool, queue name) -> the queue, creating a missing named queue; pool only -> its
    default queue. Without a pool the queue name is kept as given (no pool to route by)."""
    if not pool_name:
        return QueueRef(None, queue_name)
    pool = pool_or_404(pool_name)
    if queue_name:
        queue = queue_store.read_by_name(pool.name, queue_name)
        if queue is None:
            try:
                queue = queue_store.create(pool, WorkQueueCreate(name=queue_name))
            except ObjectAlreadyExists:
                queue = queue_store.read_by_name_or_404(pool.name, queue_name)
    else:
        queue = queue_store.read(pool.default_queue_id) if pool.default_queue_id else None
        if queue is None:
            queue = queue_store.read_by_name(pool.name, queue_store.DEFAULT_QUEUE_NAME)
    if queue is None:
        return QueueRef(None, queue_name, pool.id, pool.name)
    return QueueRef(queue.id, queue.name, pool.id, pool.name)


def queue_ref(work_queue_id: UUID | None) -> QueueRef:
    """The queue (and its pool) a stored id points at, or an empty ref if it is gone."""
    if work_queue_id is None:
        return QueueRef(None, None)
    queue = queue_store.read(work_queue_id)
    if queue is None:
        return QueueRef(None, None)
    return QueueRef(queue.id, queue.name, queue.work_pool_id, queue.work_pool_name)
