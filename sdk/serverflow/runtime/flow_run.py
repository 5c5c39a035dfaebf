"""The current flow run: ``id``, ``name``, ``flow_name``, ``parameters``, ``scheduled_start_time``, ``run_count``,
``tags``, ``parent_task_run_id``, ``deployment_id``. Module attributes, resolved at access time."""

from __future__ import annotations

from typing import Any

from ..context import get_flow_run_context, get_task_run_context
from ._env import env_flow_run_id, fetch_flow_run

__all__ = [
    "deployment_id",
    "flow_name",
    "id",
    "name",
    "parameters",
    "parent_task_run_id",
    "run_count",
    "scheduled_start_time",
    "tags",
]


def _run() -> Any | None:
    ctx = get_flow_run_context()
    if ctx is not None:
        return ctx.flow_run
    run_id = env_flow_run_id()
    return fetch_flow_run(run_id) if run_id else None


def __getattr__(attr: str) -> Any:
    if attr not in __all__:
        raise AttributeError(attr)
    ctx = get_flow_run_context()
    run = _run()
    if attr == "flow_name":
        return ctx.flow.name if ctx else None
    if attr == "parameters":
        if ctx is not None:
            return dict(ctx.parameters)
        return dict(run.parameters) if run else {}
    if attr == "tags":
        return list(run.tags) if run else []
    if attr == "run_count":
        if get_task_run_context() is None and run is None:
            return 0
        return run.run_count if run else 0
    if run is None:
        return None
    if attr == "id":
        return str(run.id)
    if attr == "scheduled_start_time":
        return run.expected_start_time or run.start_time
    return getattr(run, attr)
