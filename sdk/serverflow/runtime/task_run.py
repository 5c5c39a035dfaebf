"""The current task run: ``id``, ``name``, ``task_name``, ``tags``, ``parameters``, ``run_count``."""

from __future__ import annotations

from typing import Any

from ..context import get_task_run_context

__all__ = ["id", "name", "parameters", "run_count", "tags", "task_name"]


def __getattr__(attr: str) -> Any:
    if attr not in __all__:
        raise AttributeError(attr)
    ctx = get_task_run_context()
    if ctx is None:
        return {"parameters": {}, "tags": [], "run_count": 0}.get(attr)
    record = ctx.task_run
    if attr == "id":
        return str(record.id)
    if attr == "name":
        return record.name
    if attr == "task_name":
        return ctx.task.name
    if attr == "tags":
        return list(record.tags)
    if attr == "parameters":
        return dict(ctx.parameters)
    return record.run_count
