"""/ui/flow_runs routes: the dashboard's run chart and per-run task counts (Prefect 3.9.1 `api/ui/flow_runs.py`)."""

from __future__ import annotations

from uuid import UUID

from fastapi import Body, Depends

from shared.api.routing import ServerflowRouter
from shared.api.run_criteria import JoinedFilters, joined_filters
from shared.schemas.sorting import FlowRunSort
from shared.schemas.states import StateType
from shared.schemas.ui import SimpleFlowRun
from shared.storage import queries, ui_queries

router = ServerflowRouter(prefix="/ui/flow_runs", tags=["Flow Runs", "UI"])


@router.post("/history", description="Flow runs as points of the dashboard's chart: state, time, duration, lateness.")
def read_flow_run_history(
    sort: FlowRunSort = Body(FlowRunSort.EXPECTED_START_TIME_DESC),
    limit: int = Body(1000, le=1000),
    offset: int = Body(0, ge=0),
    criteria: JoinedFilters = Depends(joined_filters),
) -> list[SimpleFlowRun]:
    runs = queries.filter_flow_runs(**criteria.filter_kwargs(), sort=sort, offset=offset, limit=limit)
    return [
        SimpleFlowRun(
            id=run.id,
            state_type=run.state_type or StateType.PENDING,
            timestamp=run.start_time or run.expected_start_time or run.created,
            duration=run.estimated_run_time,
            lateness=run.estimated_start_time_delta,
        )
        for run in runs
    ]


@router.post("/count-task-runs", description="Get task run counts by flow run id.")
def count_task_runs_by_flow_run(flow_run_ids: list[UUID] = Body(..., embed=True, max_length=200)) -> dict[UUID, int]:
    return ui_queries.task_run_counts_by_flow_run(flow_run_ids)
