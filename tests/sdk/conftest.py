"""Fixtures for the SDK tests: flows run in-process with the SDK, results are read back over HTTP.

The API is the local stack (``api_url`` from tests/conftest.py). ``SERVERFLOW_SDK_TEST_API_URL`` points the
suite at another server instead, e.g. the prefect 3.9.1 reference server, without starting the stack.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import serverflow


@pytest.fixture(scope="session")
def sdk_api_url(request: pytest.FixtureRequest) -> str:
    override = os.environ.get("SERVERFLOW_SDK_TEST_API_URL")
    if override:
        return override.rstrip("/")
    return str(request.getfixturevalue("api_url"))


@pytest.fixture
def sdk_env(sdk_api_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Environment of a flow process: API URL, a private result directory, quick background flushes.

    A flow returns before its events and logs are sent (as prefect's): the test's own are sent before the
    next test starts, so they never land in another test's reads of the shared stack."""
    monkeypatch.setenv("SERVERFLOW_API_URL", sdk_api_url)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("SERVERFLOW_API_KEY", raising=False)
    monkeypatch.setenv("SERVERFLOW_LOCAL_STORAGE_PATH", str(tmp_path / "results"))
    monkeypatch.setenv("SERVERFLOW_FLUSH_INTERVAL", "0.5")
    yield sdk_api_url
    serverflow.flush(timeout=60)


@pytest.fixture
def api(sdk_api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sdk_api_url, timeout=30) as http:
        yield http


class Reader:
    """Reads runs back over HTTP (what the server recorded), with polling for asynchronously recorded task runs."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def wait_until(self, check: Callable[[], Any], timeout: float = 20.0) -> Any:
        return wait_until(check, timeout)

    def flow_run(self, flow_run_id: str) -> dict[str, Any]:
        return flow_run(self.http, flow_run_id)

    def task_runs(self, flow_run_id: str, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
        return task_runs_of(self.http, flow_run_id, limit, offset)

    def count_task_runs(self, flow_run_id: str, **task_filter: Any) -> int:
        return count_task_runs(self.http, flow_run_id, **task_filter)

    def task_run_states(self, task_run_id: str) -> list[dict[str, Any]]:
        response = self.http.get("/task_run_states/", params={"task_run_id": task_run_id})
        response.raise_for_status()
        return sorted(response.json(), key=lambda s: s["timestamp"])

    def flow_run_states(self, flow_run_id: str) -> list[dict[str, Any]]:
        response = self.http.get("/flow_run_states/", params={"flow_run_id": flow_run_id})
        response.raise_for_status()
        return sorted(response.json(), key=lambda s: s["timestamp"])

    def subflow_runs(self, parent_task_run_ids: list[str]) -> list[dict[str, Any]]:
        response = self.http.post(
            "/flow_runs/filter", json={"flow_runs": {"parent_task_run_id": {"any_": parent_task_run_ids}}}
        )
        response.raise_for_status()
        return list(response.json())

    def logs(self, flow_run_id: str) -> list[dict[str, Any]]:
        response = self.http.post("/logs/filter", json={"logs": {"flow_run_id": {"any_": [flow_run_id]}}, "limit": 200})
        response.raise_for_status()
        return list(response.json())

    def artifacts(self, flow_run_id: str) -> list[dict[str, Any]]:
        response = self.http.post("/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}})
        response.raise_for_status()
        return list(response.json())


@pytest.fixture
def reader(api: httpx.Client) -> Reader:
    return Reader(api)


def wait_until(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.25) -> Any:
    """Poll until ``check()`` is truthy: the server records task runs from events asynchronously."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")


def task_runs_of(api: httpx.Client, flow_run_id: str, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
    response = api.post(
        "/task_runs/filter",
        json={"flow_runs": {"id": {"any_": [flow_run_id]}}, "limit": limit, "offset": offset},
    )
    response.raise_for_status()
    return list(response.json())


def count_task_runs(api: httpx.Client, flow_run_id: str, **task_filter: Any) -> int:
    body: dict[str, Any] = {"flow_runs": {"id": {"any_": [flow_run_id]}}}
    if task_filter:
        body["task_runs"] = task_filter
    response = api.post("/task_runs/count", json=body)
    response.raise_for_status()
    return int(response.json())


def flow_run(api: httpx.Client, flow_run_id: str) -> dict[str, Any]:
    response = api.get(f"/flow_runs/{flow_run_id}")
    response.raise_for_status()
    return dict(response.json())
