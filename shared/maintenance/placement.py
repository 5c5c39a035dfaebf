"""Where a new flow run lands: work pool/queue names resolved to ids, as the reference does.

POST /flow_runs/ may name a work pool (and queue); the run is stored with the queue's
id so the sparse scheduled index and the pool's SQS queue find it.
"""

from __future__ import annotations

from typing import Any

from shared.schemas.flow_runs import FlowRunCreate
from shared.storage import work_queues as queue_store


def work_queue_placement(create: FlowRunCreate) -> dict[str, Any]:
    """Run fields naming its work queue (404 for an unknown pool/queue); empty without a pool."""
    if not create.work_pool_name:
        return {}
    queue = queue_store.resolve_for_run(create.work_pool_name, create.work_queue_name)
    return {
        "work_queue_id": queue.id,
        "work_queue_name": queue.name,
        "work_pool_id": queue.work_pool_id,
        "work_pool_name": queue.work_pool_name or create.work_pool_name,
    }
