"""Run contexts: which flow run / task run the current code executes in.

Context variables, so threads started by the task runner (which copy the context) and asyncio tasks see their
own run. Plain dataclasses: cheap to create for every task run.
"""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._shipper import BatchShipper
    from .client import SyncClient
    from .client.models import FlowRun
    from .engine.task_run import TaskRunRecord
    from .flows import Flow
    from .results import ResultStore
    from .tasks import Task


@dataclass
class FlowRunContext:
    flow: Flow[..., Any]
    flow_run: FlowRun
    client: SyncClient
    parameters: dict[str, Any]
    result_store: ResultStore
    events: BatchShipper
    persist_result: bool | None = None
    log_prints: bool = False
    deployment: dict[str, Any] | None = None
    logger: Any = None
    logs: BatchShipper | None = None
    _executor: ThreadPoolExecutor | None = None
    _submitted: list[Future[Any]] = field(default_factory=list)
    # How many subflow calls with the same inputs this attempt has made (keys subflow parent task runs).
    _subflow_counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def run_count(self) -> int:
        return self.flow_run.run_count

    def executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.flow.task_runner_max_workers, thread_name_prefix="serverflow-task"
                )
            return self._executor

    def track(self, future: Future[Any]) -> None:
        with self._lock:
            self._submitted.append(future)

    def next_subflow_occurrence(self, key: str) -> int:
        with self._lock:
            n = self._subflow_counts.get(key, 0)
            self._subflow_counts[key] = n + 1
            return n

    def wait_for_submitted(self) -> None:
        """Prefect semantics: a flow run does not finish before the tasks it submitted."""
        while True:
            with self._lock:
                pending = [f for f in self._submitted if not f.done()]
            if not pending:
                return
            for future in pending:
                try:
                    future.result()
                except BaseException:  # noqa: BLE001 - the pending futures are only awaited here; their owners see their errors
                    pass

    def shutdown(self) -> None:
        self.wait_for_submitted()
        if self._executor is not None:
            self._executor.shutdown(wait=True)


@dataclass
class TaskRunContext:
    task: Task[..., Any]
    task_run: TaskRunRecord
    parameters: dict[str, Any]
    log_prints: bool = False


_flow_run: contextvars.ContextVar[FlowRunContext | None] = contextvars.ContextVar("serverflow_flow_run", default=None)
_task_run: contextvars.ContextVar[TaskRunContext | None] = contextvars.ContextVar("serverflow_task_run", default=None)


def get_flow_run_context() -> FlowRunContext | None:
    return _flow_run.get()


def get_task_run_context() -> TaskRunContext | None:
    return _task_run.get()


def set_flow_run_context(ctx: FlowRunContext | None) -> contextvars.Token[FlowRunContext | None]:
    return _flow_run.set(ctx)


def reset_flow_run_context(token: contextvars.Token[FlowRunContext | None]) -> None:
    _flow_run.reset(token)


def set_task_run_context(ctx: TaskRunContext | None) -> contextvars.Token[TaskRunContext | None]:
    return _task_run.set(ctx)


def reset_task_run_context(token: contextvars.Token[TaskRunContext | None]) -> None:
    _task_run.reset(token)
