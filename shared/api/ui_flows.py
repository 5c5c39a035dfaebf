"""/ui/flows routes: per-flow figures the UI's flows list shows (Prefect 3.9.1 `api/ui/flows.py`)."""

from __future__ import annotations

from uuid import UUID

from fastapi import Body

from shared.api.routing import ServerflowRouter
from shared.schemas.states import StateType
from shared.schemas.ui import SimpleNextFlowRun
from shared.storage import ui_queries

router = ServerflowRouter(prefix="/ui/flows", tags=["Flows", "UI"])


@router.post("/count-deployments", description="Get deployment counts by flow id.")
def count_deployments_by_flow(flow_ids: list[UUID] = Body(..., embed=True, max_length=200)) -> dict[UUID, int]:
    return ui_queries.count_deployments_by_flow(flow_ids)


@router.post("/next-runs", description="Get the next flow run by flow id.")
def next_runs_by_flow(
    flow_ids: list[UUID] = Body(..., embed=True, max_length=200),
) -> dict[UUID, SimpleNextFlowRun | None]:
    answer: dict[UUID, SimpleNextFlowRun | None] = {}
    for flow_id, run in ui_queries.next_runs_by_flow(flow_ids).items():
        answer[flow_id] = (
            SimpleNextFlowRun(
                id=run.id,
                flow_id=run.flow_id,
                name=run.name,
                state_name=run.state_name or "Scheduled",
                state_type=run.state_type or StateType.SCHEDULED,
                next_scheduled_start_time=run.next_scheduled_start_time,
            )
            if run is not None and run.next_scheduled_start_time is not None
            else None
        )
    return answer
