"""/ui/task_runs routes: the dashboard's task-run chart and counts (Prefect 3.9.1 `api/ui/task_runs.py`)."""

from __future__ import annotations

import datetime
from uuid import UUID

from fastapi import Depends, HTTPException, Path, status

from shared.api.routing import ServerflowRouter
from shared.api.run_criteria import TaskRunCriteria, task_run_criteria
from shared.schemas.base import now_utc
from shared.schemas.filters.deployments import DeploymentFilter, WorkPoolFilter, WorkQueueFilter
from shared.schemas.filters.runs import FlowFilter, FlowRunFilter, TaskRunFilter
from shared.schemas.ui import CountByState, TaskRunCount, UITaskRun
from shared.storage import flow_runs as flow_run_store
from shared.storage import queries, ui_queries
from shared.storage import task_runs as task_run_store
from shared.storage.errors import ObjectNotFound

router = ServerflowRouter(prefix="/ui/task_runs", tags=["Task Runs", "UI"])


def _minute_floor(value: datetime.datetime) -> datetime.datetime:
    return value.replace(second=0, microsecond=0)


@router.post(
    "/dashboard/counts", description="Terminal task runs in 20 time buckets of the window: completed and failed."
)
def read_dashboard_task_run_counts(
    task_runs: TaskRunFilter,
    flows: FlowFilter | None = None,
    flow_runs: FlowRunFilter | None = None,
    deployments: DeploymentFilter | None = None,
    work_pools: WorkPoolFilter | None = None,
    work_queues: WorkQueueFilter | None = None,
) -> list[TaskRunCount]:
    if task_runs.start_time is None or task_runs.start_time.after_ is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail="task_runs.start_time.after_ is required")
    start = _minute_floor(task_runs.start_time.after_)
    before = task_runs.start_time.before_ or now_utc()
    # The end of the window's last minute, as the reference.
    end = _minute_floor(before) + datetime.timedelta(minutes=1) - datetime.timedelta(microseconds=1)
    runs = ui_queries.terminal_task_runs(
        task_runs,
        flows=flows,
        flow_runs=flow_runs,
        deployments=deployments,
        work_pools=work_pools,
        work_queues=work_queues,
    )
    return ui_queries.bucket_task_run_counts(runs, start, end)


@router.post("/count", description="Task runs matching the filters, counted by state type.")
def read_task_run_counts_by_state(criteria: TaskRunCriteria = Depends(task_run_criteria)) -> CountByState:
    return ui_queries.count_by_state(queries.filter_task_runs(**criteria.filter_kwargs()))


@router.get("/{id:uuid}", description="Get a task run by id, with its flow run's name.")
def read_task_run_with_flow_run_name(
    task_run_id: UUID = Path(..., description="The task run id", alias="id"),
) -> UITaskRun:
    run = task_run_store.read(task_run_id)
    if run is None:
        raise ObjectNotFound("Task not found")
    flow_run = flow_run_store.read(run.flow_run_id) if run.flow_run_id is not None else None
    return UITaskRun(**run.model_dump(), flow_run_name=flow_run.name if flow_run is not None else None)
