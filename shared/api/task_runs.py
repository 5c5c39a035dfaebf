"""/task_runs routes (Prefect 3.9.1 `server/api/task_runs.py` compatible).

In 3.9.1 most task runs arrive as events (see shared/events); these routes serve the
subflow parent task run, background tasks and every read. Paths use `{id:uuid}` like
the reference, so a malformed id is a 404 (no route), not a 422.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Body, Depends, Path, Response, WebSocket, status

from shared.api import run_history
from shared.api.dependencies import LimitBody, page_count
from shared.api.prefect_socket import serve_task_subscription
from shared.api.routing import ServerflowRouter
from shared.api.run_criteria import TaskRunCriteria, task_run_criteria
from shared.schemas.responses import HistoryResponse, OrchestrationResult
from shared.schemas.sorting import TaskRunSort
from shared.schemas.states import StateCreate
from shared.schemas.task_runs import TaskRun, TaskRunCreate, TaskRunPaginationResponse, TaskRunUpdate
from shared.schemas.types import DateTime
from shared.storage import queries, run_lifecycle
from shared.storage import task_runs as task_run_store
from shared.storage.errors import ObjectNotFound

router = ServerflowRouter(prefix="/task_runs", tags=["Task Runs"])


@router.post("/")
def create_task_run(task_run: TaskRunCreate, response: Response) -> TaskRun:
    """Upsert on (flow_run_id, task_key, dynamic_key): 201 if new, 200 with the existing run."""
    run, created = task_run_store.create(task_run)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return run


@router.patch("/{id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
def update_task_run(task_run: TaskRunUpdate, task_run_id: UUID = Path(..., alias="id")) -> None:
    """Updates a task run."""
    if task_run_store.update(task_run_id, task_run) is None:
        raise ObjectNotFound("Task run not found")


@router.post("/count")
def count_task_runs(
    criteria: TaskRunCriteria = Depends(task_run_criteria),
) -> int:
    """Count task runs."""
    return queries.count_task_runs(**criteria.filter_kwargs())


@router.get("/{id:uuid}")
def read_task_run(task_run_id: UUID = Path(..., alias="id")) -> TaskRun:
    """Get a task run by id."""
    run = task_run_store.read(task_run_id)
    if run is None:
        raise ObjectNotFound("Task not found")
    return run


@router.post(
    "/history",
    description=(
        "Task run counts per state in `history_interval_seconds` buckets of expected start time between "
        "history_start and history_end (at most 500 buckets), for the runs the filters select."
    ),
)
def task_run_history(
    history_start: Annotated[DateTime, Body(description="The history's start time.")],
    history_end: Annotated[DateTime, Body(description="The history's end time.")],
    history_interval_seconds: float = Body(
        ...,
        description="The size of each history interval, in seconds. Must be at least 1 second.",
        json_schema_extra={"format": "time-delta"},
    ),
    criteria: TaskRunCriteria = Depends(task_run_criteria),
) -> list[HistoryResponse]:
    interval = run_history.history_interval(history_interval_seconds)
    runs = queries.filter_task_runs(**criteria.filter_kwargs())
    return run_history.run_history(runs, history_start, history_end, interval)


@router.post("/filter")
def read_task_runs(
    sort: TaskRunSort = Body(TaskRunSort.ID_DESC),
    limit: int = LimitBody(),
    offset: int = Body(0, ge=0),
    criteria: TaskRunCriteria = Depends(task_run_criteria),
) -> list[TaskRun]:
    """Query for task runs."""
    return queries.filter_task_runs(**criteria.filter_kwargs(), sort=sort, offset=offset, limit=limit)


@router.post("/paginate")
def paginate_task_runs(
    sort: TaskRunSort = Body(TaskRunSort.ID_DESC),
    limit: int = LimitBody(),
    page: int = Body(1, ge=1),
    criteria: TaskRunCriteria = Depends(task_run_criteria),
) -> TaskRunPaginationResponse:
    """Pagination query for task runs."""
    matched = queries.filter_task_runs(**criteria.filter_kwargs(), sort=sort)
    offset = (page - 1) * limit
    return TaskRunPaginationResponse(
        results=matched[offset : offset + limit],
        count=len(matched),
        limit=limit,
        pages=page_count(len(matched), limit),
        page=page,
    )


@router.delete("/{id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_task_run(task_run_id: UUID = Path(..., alias="id")) -> None:
    """Delete a task run by id."""
    if run_lifecycle.delete_task_run(task_run_id) is None:
        raise ObjectNotFound("Task not found")


@router.post("/{id:uuid}/set_state", response_model=OrchestrationResult)
def set_task_run_state(
    response: Response,
    task_run_id: UUID = Path(..., alias="id"),
    state: StateCreate = Body(..., description="The intended state."),
    force: bool = Body(False),
) -> OrchestrationResult:
    """Set a task run state, invoking any orchestration rules."""
    outcome = task_run_store.set_state(task_run_id, state, force=force)
    response.status_code = outcome.http_status
    return outcome.to_result()


@router.websocket("/subscriptions/scheduled")
async def scheduled_task_subscription(websocket: WebSocket) -> None:
    """Task workers (`prefect task serve`, `Task.serve()`) receive background task runs
    (`task.delay()`) of their task keys: each run goes to one subscribed worker."""
    await serve_task_subscription(websocket)
