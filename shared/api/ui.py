"""The `ui` domain: every /ui/* route Prefect's UI reads, served by one Lambda."""

from __future__ import annotations

from shared.api import ui_flow_runs, ui_flows, ui_schemas, ui_task_runs
from shared.api.routing import ServerflowRouter

router = ServerflowRouter()
# The parts' routes themselves (with their /ui/... prefixes), as flow_runs adds its sub-routers'.
router.routes.extend(
    route for part in (ui_flows, ui_flow_runs, ui_task_runs, ui_schemas) for route in part.router.routes
)
