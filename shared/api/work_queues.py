"""/work_queues routes (Prefect 3.9.1 `server/api/work_queues.py` compatible).

Id-addressed work queues across pools. A queue created here without a pool lands in the
legacy `default-agent-pool` (created on first use), as in the reference.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import Body, Header, Path, status

from shared.api.dependencies import LimitBody, page_count
from shared.api.routing import ServerflowRouter
from shared.dispatch import selection
from shared.schemas.base import now_utc
from shared.schemas.concurrency_status import FlowRunSlotSummary, WorkQueueConcurrencyStatus
from shared.schemas.filters.deployments import WorkQueueFilter
from shared.schemas.flow_runs import FlowRun
from shared.schemas.types import DateTime
from shared.schemas.work_pools import (
    WorkPoolCreate,
    WorkQueue,
    WorkQueueCreate,
    WorkQueueHealthPolicy,
    WorkQueueStatusDetail,
    WorkQueueUpdate,
)
from shared.storage import deployment_status, work_pools_writes
from shared.storage import flow_runs as flow_run_store
from shared.storage import work_pools as pool_store
from shared.storage import work_queues as queue_store
from shared.storage.errors import ObjectAlreadyExists, ObjectNotFound
from shared.storage.work_pools import StoredWorkPool

router = ServerflowRouter(prefix="/work_queues", tags=["Work Queues"])

DEFAULT_AGENT_POOL_NAME = "default-agent-pool"
LATE_STATE_NAME = "Late"


def _agent_pool() -> tuple[StoredWorkPool, bool]:
    """The legacy agent pool (no SQS queue: agents poll), created on first use; (pool, created)."""
    existing = pool_store.read_by_name(DEFAULT_AGENT_POOL_NAME)
    if existing is not None:
        return existing, False
    stamp = now_utc()
    create = WorkPoolCreate(name=DEFAULT_AGENT_POOL_NAME, type=pool_store.AGENT_POOL_TYPE)
    pool = StoredWorkPool(**create.model_dump(), status=None, created=stamp, updated=stamp)
    try:
        return work_pools_writes.create(pool), True
    except ObjectAlreadyExists:
        return pool_store.read_by_name_or_404(DEFAULT_AGENT_POOL_NAME), False


@router.post("/", status_code=status.HTTP_201_CREATED)
def create_work_queue(work_queue: WorkQueueCreate) -> WorkQueue:
    """Creates a new work queue.

    If a work queue with the same name already exists, an error
    will be raised.

    For more information, see https://www.prefect.io/docs/v3/concepts/work-pools#work-queues.
    """
    pool, created = _agent_pool()
    if created and work_queue.name == queue_store.DEFAULT_QUEUE_NAME:
        return queue_store.read_by_name_or_404(pool.name, work_queue.name)
    try:
        queue = queue_store.create(pool, work_queue)
    except ObjectAlreadyExists as exc:
        raise ObjectAlreadyExists("A work queue with this name already exists.") from exc
    return queue.model_copy(update={"active_slots": 0}) if queue.concurrency_limit is not None else queue


def _read_or_404(queue_id: UUID) -> WorkQueue:
    queue = queue_store.read(queue_id)
    if queue is None:
        raise ObjectNotFound("work queue not found")
    return queue


@router.patch("/{id}", status_code=status.HTTP_204_NO_CONTENT)
def update_work_queue(work_queue: WorkQueueUpdate, queue_id: UUID = Path(..., alias="id")) -> None:
    """Updates an existing work queue."""
    queue = queue_store.read(queue_id)
    if queue is None:
        raise ObjectNotFound(f"Work Queue {queue_id} not found")
    queue_store.update(queue, work_queue)


@router.get("/name/{name}")
def read_work_queue_by_name(name: str = Path(..., description="The work queue name")) -> WorkQueue:
    """Get a work queue by id."""
    # As the reference: the agent pool's queue of that name if that pool exists, else any pool's.
    agent_pool = pool_store.read_by_name(DEFAULT_AGENT_POOL_NAME)
    if agent_pool is not None:
        found = queue_store.read_by_name(agent_pool.name, name)
    else:
        matches = queue_store.read_any_pool_by_name(name)
        found = matches[0] if matches else None
    if found is None:
        raise ObjectNotFound("work queue not found")
    return selection.with_queue_slots([found])[0]


@router.get("/{id}")
def read_work_queue(queue_id: UUID = Path(..., alias="id")) -> WorkQueue:
    """Get a work queue by id."""
    return selection.with_queue_slots([_read_or_404(queue_id)])[0]


@router.post("/{id}/get_runs")
def read_work_queue_runs(
    queue_id: UUID = Path(..., alias="id"),
    limit: int = LimitBody(),
    scheduled_before: DateTime | None = Body(
        None, description="Only flow runs scheduled to start before this time will be returned."
    ),
    x_prefect_ui: bool | None = Header(
        default=False, description="A header to indicate this request came from the Prefect UI."
    ),
) -> list[FlowRun]:
    """Get flow runs from the work queue."""
    queue = _read_or_404(queue_id)
    candidates, _ = selection.scheduled_candidates([queue], scheduled_before, None, limit, selection.QUEUE_SLOT_STATES)
    runs = [run for item in candidates for run in item.runs if run.empirical_policy.retry_type != "in_process"]
    # The UI only looks; a worker's call counts as a poll.
    if not x_prefect_ui:
        stamp = now_utc()
        queue_store.record_polls([queue], stamp)
        deployment_status.mark_queues_polled([queue], stamp)
    return runs


@router.post("/filter")
def read_work_queues(
    limit: int = LimitBody(),
    offset: int = Body(0, ge=0),
    work_queues: WorkQueueFilter | None = None,
) -> list[WorkQueue]:
    """Query for work queues."""
    matched = queue_store.filter_work_queues(work_queues)
    return selection.with_queue_slots(matched[offset : offset + limit])


@router.delete("/{id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_work_queue(queue_id: UUID = Path(..., alias="id")) -> None:
    """Delete a work queue by id."""
    queue = _read_or_404(queue_id)
    pool = pool_store.read_by_name_or_404(queue.work_pool_name or "")
    try:
        queue_store.delete(pool, queue)
    except queue_store.DefaultQueueDeletion as exc:
        raise ObjectAlreadyExists(str(exc)) from exc


@router.get("/{id}/status")
def read_work_queue_status(queue_id: UUID = Path(..., alias="id")) -> WorkQueueStatusDetail:
    """Get the status of a work queue."""
    queue = _read_or_404(queue_id)
    # Late runs are SCHEDULED runs named "Late": the queue's slice of the scheduled index.
    late = sum(1 for run in flow_run_store.read_scheduled(work_queue_id=queue.id) if run.state_name == LATE_STATE_NAME)
    policy = WorkQueueHealthPolicy(maximum_late_runs=0, maximum_seconds_since_last_polled=60)
    return WorkQueueStatusDetail(
        healthy=policy.is_healthy(late, queue.last_polled),
        late_runs_count=late,
        last_polled=queue.last_polled,
        health_check_policy=policy,
    )


@router.post(
    "/{id:uuid}/concurrency_status",
    description=(
        "Concurrency status of a work queue: the Pending, Running and Cancelling flow runs holding its "
        "slots (paginated with page/limit, id order); active_slots is always the total."
    ),
)
def read_work_queue_concurrency_status(
    queue_id: UUID = Path(..., alias="id", description="The work queue id"),
    page: int = Body(1, ge=1),
    limit: int = LimitBody(),
) -> WorkQueueConcurrencyStatus:
    queue = queue_store.read(queue_id)
    if queue is None:
        raise ObjectNotFound("Work queue not found.")
    holders = selection.slot_holders([queue], selection.QUEUE_SLOT_STATES, match_names=True)[queue.id]
    now = now_utc()
    offset = (page - 1) * limit
    return WorkQueueConcurrencyStatus(
        active_slots=len(holders),
        concurrency_limit=queue.concurrency_limit,
        flow_runs=[FlowRunSlotSummary.of(run, now) for run in holders[offset : offset + limit]],
        count=len(holders),
        limit=limit,
        pages=page_count(len(holders), limit),
        page=page,
    )
