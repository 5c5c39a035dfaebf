"""The `ui` domain: every /ui/* route Prefect's UI reads, served by one Lambda."""

from __future__ import annotations

from fastapi import APIRouter

from shared.api import ui_flow_runs, ui_flows, ui_schemas, ui_task_runs

router = APIRouter()
for _part in (ui_flows, ui_flow_runs, ui_task_runs, ui_schemas):
    router.include_router(_part.router)
