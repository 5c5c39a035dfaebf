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
    "flush": "_shipper",
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
    # `X as X`: re-exported for type checkers (the names resolve lazily at run time, above).
    from . import runtime as runtime
    from . import variables as variables
    from ._shipper import flush as flush
    from .artifacts import create_link_artifact as create_link_artifact
    from .artifacts import create_markdown_artifact as create_markdown_artifact
    from .artifacts import create_table_artifact as create_table_artifact
    from .blocks import JSON as JSON
    from .blocks import Secret as Secret
    from .client import AsyncClient as AsyncClient
    from .client import SyncClient as SyncClient
    from .client import get_client as get_client
    from .events import emit_event as emit_event
    from .flows import Flow as Flow
    from .flows import ThreadPoolTaskRunner as ThreadPoolTaskRunner
    from .flows import flow as flow
    from .futures import PrefectFuture as PrefectFuture
    from .futures import TaskRunFuture as TaskRunFuture
    from .futures import allow_failure as allow_failure
    from .futures import as_completed as as_completed
    from .futures import unmapped as unmapped
    from .futures import wait as wait
    from .logging import get_run_logger as get_run_logger
    from .states import Cancelled as Cancelled
    from .states import Completed as Completed
    from .states import Crashed as Crashed
    from .states import Failed as Failed
    from .states import Pending as Pending
    from .states import Running as Running
    from .states import State as State
    from .states import StateType as StateType
    from .tags import tags as tags
    from .tasks import Task as Task
    from .tasks import task as task
