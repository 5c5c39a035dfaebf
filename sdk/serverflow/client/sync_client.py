"""Blocking client (httpx.Client). The flow/task engine and the CLI use this one."""

from __future__ import annotations

import time
from typing import Any, TypeVar
from uuid import UUID

import httpx

from ..settings import Settings, get_settings
from . import _transport, calls
from .models import Artifact, Deployment, Flow, FlowRun, LogEntry, OrchestrationResult, TaskRun, WorkPool, WorkQueue

T = TypeVar("T")


class SyncClient:
    def __init__(
        self,
        api_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        settings: Settings | None = None,
    ) -> None:
        settings = settings or get_settings()
        self.api_url = _transport.resolve_url(settings, api_url)
        self.max_retries = settings.max_retries if max_retries is None else max_retries
        self._http = httpx.Client(
            base_url=self.api_url,
            headers=_transport.headers(api_key if api_key is not None else settings.api_key),
            timeout=_transport.timeout(settings, timeout),
            follow_redirects=True,
        )

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def send(self, call: _transport.Call[T]) -> T:
        attempt = 0
        connect_failures = 0
        while True:
            _transport.count_request()
            try:
                response = self._http.request(call.method, call.path, json=call.json, params=call.params)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                connect_failures += 1
                if connect_failures > _transport.CONNECT_RETRIES:
                    raise _transport.unreachable(self.api_url, exc) from None
                time.sleep(_transport.CONNECT_BACKOFF * connect_failures)
                continue
            except httpx.TransportError as exc:
                # Read errors and timeouts after connecting: the server may be overloaded; retry a few times.
                attempt += 1
                if attempt > min(self.max_retries, 2):
                    raise _transport.unreachable(self.api_url, exc) from None
                time.sleep(_transport.retry_delay(attempt, None))
                continue
            if _transport.should_retry_status(response, attempt, self.max_retries):
                attempt += 1
                time.sleep(_transport.retry_delay(attempt, response))
                continue
            _transport.check(response, self.api_url)
            return call.parse(response)

    # --- endpoints (see calls.py) ---------------------------------------------------------------------------
    def read_version(self) -> str:
        return self.send(calls.read_version())

    def create_flow(self, name: str, tags: list[str] | None = None) -> Flow:
        return self.send(calls.create_flow(name, tags))

    def read_flow(self, flow_id: UUID | str) -> Flow:
        return self.send(calls.read_flow(flow_id))

    def create_flow_run(self, body: dict[str, Any]) -> FlowRun:
        return self.send(calls.create_flow_run(body))

    def read_flow_run(self, flow_run_id: UUID | str) -> FlowRun:
        return self.send(calls.read_flow_run(flow_run_id))

    def read_flow_runs(self, flow_runs: dict[str, Any] | None = None, **kwargs: Any) -> list[FlowRun]:
        return self.send(calls.read_flow_runs(flow_runs, **kwargs))

    def set_flow_run_state(
        self, flow_run_id: UUID | str, state: dict[str, Any], force: bool = False
    ) -> OrchestrationResult:
        return self.send(calls.set_flow_run_state(flow_run_id, state, force))

    def create_task_run(self, body: dict[str, Any]) -> TaskRun:
        return self.send(calls.create_task_run(body))

    def read_task_run(self, task_run_id: UUID | str) -> TaskRun:
        return self.send(calls.read_task_run(task_run_id))

    def read_task_runs(self, task_runs: dict[str, Any] | None = None, **kwargs: Any) -> list[TaskRun]:
        return self.send(calls.read_task_runs(task_runs, **kwargs))

    def create_logs(self, logs: list[dict[str, Any]]) -> None:
        self.send(calls.create_logs(logs))

    def read_logs(self, logs: dict[str, Any] | None = None, limit: int = 200, offset: int = 0) -> list[LogEntry]:
        return self.send(calls.read_logs(logs, limit, offset))

    def emit_events(self, events: list[dict[str, Any]]) -> None:
        self.send(calls.emit_events(events))

    def create_artifact(self, body: dict[str, Any]) -> Artifact:
        return self.send(calls.create_artifact(body))

    def read_artifacts(self, artifacts: dict[str, Any] | None = None, limit: int | None = None) -> list[Artifact]:
        return self.send(calls.read_artifacts(artifacts, limit))

    def read_deployments(self, limit: int | None = None, offset: int = 0) -> list[Deployment]:
        return self.send(calls.read_deployments(limit, offset))

    def read_deployment(self, deployment_id: UUID | str) -> Deployment:
        return self.send(calls.read_deployment(deployment_id))

    def read_deployment_by_name(self, flow_name: str, deployment_name: str) -> Deployment:
        return self.send(calls.read_deployment_by_name(flow_name, deployment_name))

    def create_flow_run_from_deployment(self, deployment_id: UUID | str, body: dict[str, Any]) -> FlowRun:
        return self.send(calls.create_flow_run_from_deployment(deployment_id, body))

    def read_work_pools(self, limit: int | None = None, offset: int = 0) -> list[WorkPool]:
        return self.send(calls.read_work_pools(limit, offset))

    def read_work_pool(self, name: str) -> WorkPool:
        return self.send(calls.read_work_pool(name))

    def create_work_pool(self, body: dict[str, Any]) -> WorkPool:
        return self.send(calls.create_work_pool(body))

    def read_work_queues(self, pool_name: str) -> list[WorkQueue]:
        return self.send(calls.read_work_queues(pool_name))

    def request(self, method: str, path: str, json: Any = None) -> Any:
        return self.send(calls.request(method, path, json))
