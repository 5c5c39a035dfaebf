"""`GET /deployments/{id}/work_queue_check`: which work queues' (legacy) filters accept a deployment."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from shared.schemas.base import ObjectBaseModel
from shared.schemas.deployments import Deployment
from shared.schemas.types import DateTime
from shared.schemas.work_pools import QueueFilter, WorkQueue


class WorkQueueCore(ObjectBaseModel):
    """The reference's core WorkQueue: the response fields without pool name, status or slots."""

    name: str
    description: str | None = ""
    is_paused: bool = False
    concurrency_limit: int | None = None
    priority: int = 1
    work_pool_id: UUID | None = None
    filter: QueueFilter | None = Field(None, description="DEPRECATED: tags / deployment ids the queue accepts.")
    last_polled: DateTime | None = None


def queue_accepts(queue: WorkQueue, deployment: Deployment) -> bool:
    """The queue's filter tags are a subset of the deployment's tags, and its deployment ids,
    when it has any, include the deployment (no filter accepts everything)."""
    queue_filter = queue.filter
    if queue_filter is None:
        return True
    if queue_filter.tags and not set(queue_filter.tags) <= set(deployment.tags or []):
        return False
    return not queue_filter.deployment_ids or deployment.id in queue_filter.deployment_ids


__all__ = ["WorkQueueCore", "queue_accepts"]
