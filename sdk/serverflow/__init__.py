"""Serverflow SDK: run Prefect-style flows against the Serverflow (Prefect 3 compatible) API over HTTP.

``from serverflow import flow, task`` is the usual entry. Attributes are loaded on first access (PEP 562), so
``import serverflow`` stays cheap: httpx and pydantic are only imported when a flow actually runs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

_EXPORTS: dict[str, str] = {
    "flow": "flows",
    "Flow": "flows",
    "ThreadPoolTaskRunner": "flows",
    "task": "tasks",
    "Task": "tasks",
    "get_run_logger": "logging",
    "tags": "tags",
    "unmapped": "futures",
    "allow_failure": "futures",
    "wait": "futures",
    "as_completed": "futures",
    "TaskRunFuture": "futures",
    "PrefectFuture": "futures",
    "State": "states",
    "StateType": "states",
    "Completed": "states",
    "Failed": "states",
    "Crashed": "states",
    "Cancelled": "states",
    "Pending": "states",
    "Running": "states",
    "create_markdown_artifact": "artifacts",
    "create_table_artifact": "artifacts",
    "create_link_artifact": "artifacts",
    "SyncClient": "client",
    "AsyncClient": "client",
    "get_client": "client",
    "runtime": "runtime",
    "variables": "variables",
    "Secret": "blocks",
    "JSON": "blocks",
    "emit_event": "events",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'serverflow' has no attribute {name!r}")
    module = import_module(f".{module_name}", __name__)
    value = module if name in ("runtime", "variables") else getattr(module, name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from . import runtime, variables
    from .blocks import JSON, Secret
    from .events import emit_event
    from .artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
    from .client import AsyncClient, SyncClient, get_client
    from .flows import Flow, ThreadPoolTaskRunner, flow
    from .futures import PrefectFuture, TaskRunFuture, allow_failure, as_completed, unmapped, wait
    from .logging import get_run_logger
    from .states import Cancelled, Completed, Crashed, Failed, Pending, Running, State, StateType
    from .tags import tags
    from .tasks import Task, task
