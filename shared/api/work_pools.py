"""/work_pools routes (Prefect 3.9.1 `server/api/workers.py` compatible).

Pools, the pool-scoped work queues and workers, and `get_scheduled_flow_runs` for
HTTP-polling workers. Creating a pool also creates its SQS dispatch queue; deleting it
deletes that queue (shared/dispatch/sqs.py).
"""

from __future__ import annotations

from fastapi import Body, HTTPException, Path, status

from shared.api.dependencies import LimitBody, page_count
from shared.api.routing import ServerflowRouter
from shared.dispatch import selection
from shared.dispatch import sqs as dispatch
from shared.schemas.base import now_utc
from shared.schemas.concurrency_status import (
    FlowRunSlotSummary,
    WorkPoolConcurrencyStatus,
    WorkQueueConcurrencyStatusDetail,
)
from shared.schemas.filters.deployments import WorkerFilter, WorkPoolFilter, WorkQueueFilter
from shared.schemas.types import DateTime
from shared.schemas.work_pools import (
    Worker,
    WorkerFlowRunResponse,
    WorkPool,
    WorkPoolCreate,
    WorkPoolDispatchQueue,
    WorkPoolStatus,
    WorkPoolUpdate,
    WorkQueue,
    WorkQueueCreate,
    WorkQueueUpdate,
)
from shared.storage import deployment_status, work_pools_writes
from shared.storage import work_pools as pool_store
from shared.storage import work_queues as queue_store
from shared.storage import workers as worker_store
from shared.storage.errors import ObjectAlreadyExists, ObjectNotFound
from shared.storage.work_pools import StoredWorkPool

router = ServerflowRouter(prefix="/work_pools", tags=["Work Pools"])

RESERVED_PREFIX = "prefect"


def _reserved(name: str) -> bool:
    return name.lower().startswith(RESERVED_PREFIX)


# --- pools -------------------------------------------------------------------------


@router.post("/", status_code=status.HTTP_201_CREATED)
def create_work_pool(work_pool: WorkPoolCreate) -> WorkPool:
    """Creates a new work pool. If a work pool with the same
    name already exists, an error will be raised.

    For more information, see https://www.prefect.io/docs/v3/concepts/work-pools.
    """
    if _reserved(work_pool.name):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail="Work pools starting with 'Prefect' are reserved for internal use."
        )
    if pool_store.read_by_name(work_pool.name) is not None:
        raise ObjectAlreadyExists("A work pool with this name already exists.")
    stamp = now_utc()
    pool = StoredWorkPool(
        **work_pool.model_dump(),
        status=pool_store.initial_status(work_pool.type, work_pool.is_paused),
        created=stamp,
        updated=stamp,
    )
    # Queue first: a pool item never points at a queue that does not exist.
    pool.sqs_queue_url = dispatch.create_pool_queue(pool.id, pool.name)
    try:
        created = work_pools_writes.create(pool)
    except Exception:
        dispatch.delete_pool_queue(pool.sqs_queue_url)
        raise
    if created.concurrency_limit is not None:
        created.active_slots = 0
    return created


@router.get("/{name}")
def read_work_pool(name: str = Path(..., description="The work pool name")) -> WorkPool:
    """Read a work pool by name"""
    return selection.with_pool_slots([pool_store.read_by_name_or_404(name)])[0]


@router.get(
    "/{name}/dispatch_queue",
    description="Serverflow extension: the SQS queue this pool's due runs are sent to, for workers that "
    "listen to it (the queue URL is infrastructure, so Prefect's WorkPool schema does not carry it).",
)
def read_work_pool_dispatch_queue(name: str = Path(..., description="The work pool name")) -> WorkPoolDispatchQueue:
    pool = pool_store.read_by_name_or_404(name)
    return dispatch.dispatch_queue_of(pool)


@router.post("/filter")
def read_work_pools(
    work_pools: WorkPoolFilter | None = None,
    limit: int = LimitBody(),
    offset: int = Body(0, ge=0),
) -> list[WorkPool]:
    """Read multiple work pools"""
    pools = pool_store.filter_work_pools(work_pools)[offset : offset + limit]
    slotted = selection.with_pool_slots(pools)
    return list(slotted)


@router.post("/count")
def count_work_pools(work_pools: WorkPoolFilter | None = Body(None, embed=True)) -> int:
    """Count work pools"""
    return len(pool_store.filter_work_pools(work_pools))


@router.patch("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def update_work_pool(work_pool: WorkPoolUpdate, name: str = Path(..., description="The work pool name")) -> None:
    """Update a work pool"""
    values = work_pool.model_dump(exclude_unset=True)
    if values.get("is_paused", False) is None:
        values.pop("is_paused")  # an explicit null leaves the pause flag as it is
    if _reserved(name) and set(values) - {"is_paused", "concurrency_limit"}:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="Work pools starting with 'Prefect' are reserved for internal use "
            "and can only be updated to set concurrency limits or pause.",
        )
    pool_store.read_by_name_or_404(name)
    # Unpausing: READY if a worker is online, else NOT_READY (read before the write, as the reference).
    online = values.get("is_paused") is False and worker_store.has_online_worker(name)

    def change(pool: StoredWorkPool) -> StoredWorkPool:
        merged = StoredWorkPool.model_validate({**pool.model_dump(), **values, "sqs_queue_url": pool.sqs_queue_url})
        if pool.status is not None and "is_paused" in values and values["is_paused"] is not None:
            if values["is_paused"]:
                merged.status = WorkPoolStatus.PAUSED
            else:
                merged.status = WorkPoolStatus.READY if online else WorkPoolStatus.NOT_READY
        return merged

    pool_store.modify(name, change)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_work_pool(name: str = Path(..., description="The work pool name")) -> None:
    """Delete a work pool"""
    if _reserved(name):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="Work pools starting with 'Prefect' are reserved for internal use and can not be deleted.",
        )
    pool = pool_store.read_by_name_or_404(name)
    work_pools_writes.delete(pool)
    dispatch.delete_pool_queue(pool.sqs_queue_url)


@router.post("/{name}/get_scheduled_flow_runs")
def get_scheduled_flow_runs(
    name: str = Path(..., description="The work pool name"),
    work_queue_names: list[str] | None = Body(None, description="The names of work pool queues"),
    scheduled_before: DateTime | None = Body(None, description="The maximum time to look for scheduled flow runs"),
    scheduled_after: DateTime | None = Body(None, description="The minimum time to look for scheduled flow runs"),
    limit: int = LimitBody(),
) -> list[WorkerFlowRunResponse]:
    """Load scheduled runs for a worker"""
    pool = pool_store.read_by_name_or_404(name)
    all_queues = queue_store.list_for_pool(name)
    if work_queue_names:
        queues = [queue_store.read_by_name_or_404(name, q) for q in work_queue_names]
    else:
        queues = all_queues
    candidates, _ = selection.scheduled_candidates(queues, scheduled_before, scheduled_after, limit)
    pool_active = selection.pool_active_slots(all_queues) if pool.concurrency_limit is not None else 0
    chosen = selection.select_runs(pool, sorted(candidates, key=lambda c: c.queue.priority), pool_active, limit)
    # A poll marks the polled queues and the deployments they serve READY (the reference's
    # mark_work_queues_ready and mark_deployments_ready).
    stamp = now_utc()
    queue_store.record_polls(queues, stamp)
    deployment_status.mark_queues_polled(queues, stamp)
    return [WorkerFlowRunResponse(work_pool_id=pool.id, work_queue_id=queue.id, flow_run=run) for queue, run in chosen]


# --- the pool's work queues ------------------------------------------------------------


@router.post("/{work_pool_name}/queues", status_code=status.HTTP_201_CREATED)
def create_work_queue(
    work_queue: WorkQueueCreate, work_pool_name: str = Path(..., description="The work pool name")
) -> WorkQueue:
    """Creates a new work pool queue. If a work pool queue with the same
    name already exists, an error will be raised.

    For more information, see https://www.prefect.io/docs/v3/concepts/work-pools#work-queues.
    """
    pool = pool_store.read_by_name_or_404(work_pool_name)
    queue = queue_store.create(pool, work_queue)
    if queue.concurrency_limit is not None:
        queue = queue.model_copy(update={"active_slots": 0})
    return queue


@router.get("/{work_pool_name}/queues/{name}")
def read_work_queue(
    work_pool_name: str = Path(..., description="The work pool name"),
    name: str = Path(..., description="The work pool queue name"),
) -> WorkQueue:
    """Read a work pool queue"""
    pool_store.read_by_name_or_404(work_pool_name)
    return selection.with_queue_slots([queue_store.read_by_name_or_404(work_pool_name, name)])[0]


@router.post("/{work_pool_name}/queues/filter")
def read_work_queues(
    work_pool_name: str = Path(..., description="The work pool name"),
    work_queues: WorkQueueFilter | None = None,
    limit: int = LimitBody(),
    offset: int = Body(0, ge=0),
) -> list[WorkQueue]:
    """Read all work pool queues"""
    pool_store.read_by_name_or_404(work_pool_name)
    matched = [q for q in queue_store.list_for_pool(work_pool_name) if work_queues is None or work_queues.matches(q)]
    return selection.with_queue_slots(matched[offset : offset + limit])


@router.patch("/{work_pool_name}/queues/{name}", status_code=status.HTTP_204_NO_CONTENT)
def update_work_queue(
    work_queue: WorkQueueUpdate,
    work_pool_name: str = Path(..., description="The work pool name"),
    name: str = Path(..., description="The work pool queue name"),
) -> None:
    """Update a work pool queue"""
    pool_store.read_by_name_or_404(work_pool_name)
    queue_store.update(queue_store.read_by_name_or_404(work_pool_name, name), work_queue)


@router.delete("/{work_pool_name}/queues/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_work_queue(
    work_pool_name: str = Path(..., description="The work pool name"),
    name: str = Path(..., description="The work pool queue name"),
) -> None:
    """Delete a work pool queue"""
    pool = pool_store.read_by_name_or_404(work_pool_name)
    try:
        queue_store.delete(pool, queue_store.read_by_name_or_404(work_pool_name, name))
    except queue_store.DefaultQueueDeletion as exc:
        # The reference fails on a foreign key here (500); a 409 says what happened.
        raise ObjectAlreadyExists(str(exc)) from exc


# --- workers ---------------------------------------------------------------------------


@router.post("/{work_pool_name}/workers/heartbeat", status_code=status.HTTP_204_NO_CONTENT)
def worker_heartbeat(
    work_pool_name: str = Path(..., description="The work pool name"),
    name: str = Body(..., description="The worker process name", embed=True),
    # The reference stores it in an INTEGER column; past that range offline_after() overflowed (a 500).
    heartbeat_interval_seconds: int | None = Body(
        None, description="The worker's heartbeat interval in seconds", embed=True, ge=-(2**31), le=2**31 - 1
    ),
) -> None:
    """Record a worker's heartbeat in a work pool (creating the worker on its first one); the pool becomes READY."""
    pool = pool_store.read_by_name_or_404(work_pool_name)
    worker_store.heartbeat(pool, name, heartbeat_interval_seconds)


@router.post("/{work_pool_name}/workers/filter")
def read_workers(
    work_pool_name: str = Path(..., description="The work pool name"),
    workers: WorkerFilter | None = None,
    limit: int = LimitBody(),
    offset: int = Body(0, ge=0),
) -> list[Worker]:
    """Read all worker processes"""
    pool_store.read_by_name_or_404(work_pool_name)
    return list(worker_store.filter_workers(work_pool_name, workers, offset=offset, limit=limit))


@router.delete("/{work_pool_name}/workers/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_worker(
    work_pool_name: str = Path(..., description="The work pool name"),
    name: str = Path(..., description="The work pool's worker name"),
) -> None:
    """Delete a work pool's worker"""
    pool_store.read_by_name_or_404(work_pool_name)
    worker_store.delete(work_pool_name, name)


@router.post(
    "/{name}/concurrency_status",
    description=(
        "Concurrency status of a work pool: its Pending and Running flow runs per queue. Queues are "
        "paginated (page/limit, priority order); each lists at most `flow_run_limit` runs, id order."
    ),
)
def read_work_pool_concurrency_status(
    work_pool_name: str = Path(..., alias="name", description="The work pool name"),
    page: int = Body(1, ge=1),
    limit: int = LimitBody(),
    flow_run_limit: int = Body(10, ge=0, le=200, description="Max flow runs per queue"),
) -> WorkPoolConcurrencyStatus:
    pool = pool_store.read_by_name(work_pool_name)
    if pool is None:
        raise ObjectNotFound(f"Work pool {work_pool_name!r} not found.")
    queues = queue_store.list_for_pool(pool.name)
    holders = selection.slot_holders(queues, selection.POOL_SLOT_STATES)
    now = now_utc()
    offset = (page - 1) * limit
    return WorkPoolConcurrencyStatus(
        active_slots=sum(len(runs) for runs in holders.values()),
        concurrency_limit=pool.concurrency_limit,
        queues=[
            WorkQueueConcurrencyStatusDetail(
                queue_id=queue.id,
                queue_name=queue.name,
                active_slots=len(holders[queue.id]),
                concurrency_limit=queue.concurrency_limit,
                flow_runs=[FlowRunSlotSummary.of(run, now) for run in holders[queue.id][:flow_run_limit]],
                flow_run_count=len(holders[queue.id]),
            )
            for queue in queues[offset : offset + limit]
        ],
        count=len(queues),
        limit=limit,
        pages=page_count(len(queues), limit),
        page=page,
    )
