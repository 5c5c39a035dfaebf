"""The queries Prefect's UI makes on its dashboard and list pages, as bench operations.

Each is measured like the REST operations (both servers, same store); on Serverflow the floor adds the
items read per request (Query ScannedCount + items fetched by key). `rows` counts the items the answer
returns or accounts for (list items; the runs / deployments a count covers; the flows that have a next run;
the graph's nodes + states + artifacts), so the bench prints items read per item returned for each.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bench.load import Request

# The dashboard's default window: the last day (the seeded runs' expected starts spread a week either side of now).
DASHBOARD_WINDOW = timedelta(days=1)


def dashboard_flow_runs(window_end: str) -> dict[str, Any]:
    """The flow-run criteria of the dashboard's cards: runs expected to start within its window."""
    end = datetime.fromisoformat(window_end)
    window = {"after_": (end - DASHBOARD_WINDOW).isoformat(), "before_": end.isoformat()}
    return {"operator": "and_", "expected_start_time": window}


def ui_requests(flow_ids: list[str], run_ids: list[str], limit: int, window_start: str) -> dict[str, Request]:
    """`window_start`: the task-run counts' window (scenarios.seed_task_runs made runs before and in it); the
    dashboard's flow-run window is the day before it."""
    flow_runs = dashboard_flow_runs(window_start)
    return {
        # The dashboard's flow-runs card: every run in its window (no limit: the server's default page).
        "ui_dashboard_flow_runs": (
            "POST",
            "flow_runs/filter",
            {"sort": "EXPECTED_START_TIME_DESC", "offset": 0, "flow_runs": flow_runs},
        ),
        # Its total (its per-state-family counts add a state type: see ACCESS_PATTERNS.md, Flow runs).
        "ui_dashboard_flow_runs_count": ("POST", "flow_runs/count", {"flow_runs": flow_runs}),
        "ui_flow_runs_history": ("POST", "ui/flow_runs/history", {"sort": "EXPECTED_START_TIME_DESC", "limit": limit}),
        "ui_flows_count_deployments": ("POST", "ui/flows/count-deployments", {"flow_ids": flow_ids}),
        "ui_flows_next_runs": ("POST", "ui/flows/next-runs", {"flow_ids": flow_ids}),
        "ui_flow_runs_count_task_runs": ("POST", "ui/flow_runs/count-task-runs", {"flow_run_ids": run_ids[:limit]}),
        "ui_task_runs_dashboard_counts": (
            "POST",
            "ui/task_runs/dashboard/counts",
            {"task_runs": {"start_time": {"after_": window_start}}},
        ),
        "ui_task_runs_count": ("POST", "ui/task_runs/count", {"task_runs": {"start_time": {"after_": window_start}}}),
        "flow_run_graph_v2": ("GET", f"flow_runs/{run_ids[0]}/graph-v2", None),
    }


def rows(op: str, body: Any) -> int:
    """Items the answer returns (see the module docstring)."""
    if op == "flow_run_graph_v2":
        return len(body["nodes"]) + len(body["states"]) + len(body["artifacts"])
    if op == "ui_task_runs_dashboard_counts":
        return sum(b["completed"] + b["failed"] for b in body)
    if op == "ui_dashboard_flow_runs_count":
        return int(body)
    if op in ("ui_task_runs_count", "ui_flows_count_deployments", "ui_flow_runs_count_task_runs"):
        return sum(body.values())
    if op == "ui_flows_next_runs":
        return sum(1 for run in body.values() if run is not None)
    return len(body)
