"""Non-blocking client (httpx.AsyncClient), for async applications. Same endpoints as SyncClient."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar
from uuid import UUID

import httpx

from ..settings import Settings, get_settings
from . import _transport, calls
from .models import Artifact, Deployment, Flow, FlowRun, LogEntry, OrchestrationResult, TaskRun, WorkPool, WorkQueue

T = TypeVar("T")


class AsyncClient:
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
        self._http = httpx.AsyncClient(
            base_url=self.api_url,
            headers=_transport.headers(api_key if api_key is not None else settings.api_key),
            timeout=_transport.timeout(settings, timeout),
            follow_redirects=True,
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, call: _transport.Call[T]) -> T:
        attempt = 0
        connect_failures = 0
        while True:
            _transport.count_request()
            try:
                response = await self._http.request(call.method, call.path, json=call.json, params=call.params)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                connect_failures += 1
                if connect_failures > _transport.CONNECT_RETRIES:
                    raise _transport.unreachable(self.api_url, exc) from None
                await asyncio.sleep(_transport.CONNECT_BACKOFF * connect_failures)
                continue
            except httpx.TransportError as exc:
                attempt += 1
                if attempt > min(self.max_retries, 2):
                    raise _transport.unreachable(self.api_url, exc) from None
                await asyncio.sleep(_transport.retry_delay(attempt, None))
                continue
            if _transport.should_retry_status(response, attempt, self.max_retries):
                attempt += 1
                await asyncio.sleep(_transport.retry_delay(attempt, response))
                continue
            _transport.check(response, self.api_url)
            return call.parse(response)

    # --- endpoints (see calls.py) ---------------------------------------------------------------------------
    async def read_version(self) -> str:
        return await self.send(calls.read_version())

    async def create_flow(self, name: str, tags: list[str] | None = None) -> Flow:
        return await self.send(calls.create_flow(name, tags))

    async def read_flow(self, flow_id: UUID | str) -> Flow:
        return await self.send(calls.read_flow(flow_id))

    async def create_flow_run(self, body: dict[str, Any]) -> FlowRun:
        return await self.send(calls.create_flow_run(body))

    async def read_flow_run(self, flow_run_id: UUID | str) -> FlowRun:
        return await self.send(calls.read_flow_run(flow_run_id))

    async def read_flow_runs(self, flow_runs: dict[str, Any] | None = None, **kwargs: Any) -> list[FlowRun]:
        return await self.send(calls.read_flow_runs(flow_runs, **kwargs))

    async def set_flow_run_state(
        self, flow_run_id: UUID | str, state: dict[str, Any], force: bool = False
    ) -> OrchestrationResult:
        return await self.send(calls.set_flow_run_state(flow_run_id, state, force))

    async def create_task_run(self, body: dict[str, Any]) -> TaskRun:
        return await self.send(calls.create_task_run(body))

    async def read_task_run(self, task_run_id: UUID | str) -> TaskRun:
        return await self.send(calls.read_task_run(task_run_id))

    async def read_task_runs(self, task_runs: dict[str, Any] | None = None, **kwargs: Any) -> list[TaskRun]:
        return await self.send(calls.read_task_runs(task_runs, **kwargs))

    async def create_logs(self, logs: list[dict[str, Any]]) -> None:
        await self.send(calls.create_logs(logs))

    async def read_logs(self, logs: dict[str, Any] | None = None, limit: int = 200, offset: int = 0) -> list[LogEntry]:
        return await self.send(calls.read_logs(logs, limit, offset))

    async def emit_events(self, events: list[dict[str, Any]]) -> None:
        await self.send(calls.emit_events(events))

    async def create_artifact(self, body: dict[str, Any]) -> Artifact:
        return await self.send(calls.create_artifact(body))

    async def read_artifacts(self, artifacts: dict[str, Any] | None = None, limit: int | None = None) -> list[Artifact]:
        return await self.send(calls.read_artifacts(artifacts, limit))

    async def read_deployments(self, limit: int | None = None, offset: int = 0) -> list[Deployment]:
        return await self.send(calls.read_deployments(limit, offset))

    async def read_deployment(self, deployment_id: UUID | str) -> Deployment:
        return await self.send(calls.read_deployment(deployment_id))

    async def read_deployment_by_name(self, flow_name: str, deployment_name: str) -> Deployment:
        return await self.send(calls.read_deployment_by_name(flow_name, deployment_name))

    async def create_flow_run_from_deployment(self, deployment_id: UUID | str, body: dict[str, Any]) -> FlowRun:
        return await self.send(calls.create_flow_run_from_deployment(deployment_id, body))

    async def read_work_pools(self, limit: int | None = None, offset: int = 0) -> list[WorkPool]:
        return await self.send(calls.read_work_pools(limit, offset))

    async def read_work_pool(self, name: str) -> WorkPool:
        return await self.send(calls.read_work_pool(name))

    async def create_work_pool(self, body: dict[str, Any]) -> WorkPool:
        return await self.send(calls.create_work_pool(body))

    async def read_work_queues(self, pool_name: str) -> list[WorkQueue]:
        return await self.send(calls.read_work_queues(pool_name))

    async def request(self, method: str, path: str, json: Any = None) -> Any:
        return await self.send(calls.request(method, path, json))
