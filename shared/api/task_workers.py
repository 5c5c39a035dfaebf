"""/task_workers routes (Prefect 3.9.1 `server/api/task_workers.py` compatible)."""

from __future__ import annotations

from fastapi import APIRouter, Body

from shared.schemas.task_workers import TaskWorkerFilter, TaskWorkerResponse
from shared.storage import task_workers as task_worker_store

router = APIRouter(prefix="/task_workers", tags=["Task Workers"])


@router.post(
    "/filter",
    description=(
        "Read active task workers (seen within the last SERVERFLOW_TASK_WORKER_TTL_SECONDS, default 120). "
        "Optionally filter by task keys: workers serving any of them."
    ),
)
def read_task_workers(
    task_worker_filter: TaskWorkerFilter | None = Body(None, embed=True, description="The task worker filter"),
) -> list[TaskWorkerResponse]:
    return task_worker_store.active(task_worker_filter.task_keys if task_worker_filter else None)
