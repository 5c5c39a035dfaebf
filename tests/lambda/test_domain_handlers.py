"""Each domain's Lambda handler answers an API Gateway event exactly as the local server does."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from infra.template import http_domains
from tests.aws_env import stack_aws_env
from tests.lambda_support import LambdaContext, decode_body, http_api_event

# One read-only request per domain, run after some data exists.
REQUESTS: dict[str, tuple[str, str, Any]] = {
    "admin": ("GET", "/api/admin/version", None),
    "csrf_token": ("GET", "/api/csrf-token?client=abc", None),
    "flows": ("POST", "/api/flows/filter", {"sort": "NAME_ASC"}),
    # Scoped to seeded objects: the stack's scheduled functions may write between the two calls.
    "flow_runs": ("POST", "/api/flow_runs/filter", {"flow_runs": {"id": {"any_": ["{flow_run_id}"]}}}),
    "flow_run_states": ("GET", "/api/flow_run_states/?flow_run_id={flow_run_id}", None),
    "task_runs": ("POST", "/api/task_runs/count", {}),
    "task_run_states": ("GET", "/api/task_run_states/?task_run_id={task_run_id}", None),
    "logs": ("POST", "/api/logs/filter", {"logs": {"flow_run_id": {"any_": ["{flow_run_id}"]}}}),
    "artifacts": ("POST", "/api/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": ["{flow_run_id}"]}}}),
    "events": ("POST", "/api/events/filter", {"filter": {"resource": {"id": ["prefect.flow-run.{flow_run_id}"]}}, "limit": 5}),
    "work_pools": ("POST", "/api/work_pools/filter", {"limit": 5}),
    "work_queues": ("POST", "/api/work_queues/filter", {"limit": 5}),
    "deployments": ("POST", "/api/deployments/filter", {"limit": 5}),
    "collections": ("GET", "/api/collections/views/aggregate-worker-metadata", None),
    "blocks": ("GET", "/api/block_types/slug/secret", None),
    "ui": ("POST", "/api/ui/flow_runs/count-task-runs", {"flow_run_ids": ["{flow_run_id}"]}),
    # Served at the root (shared.api.registry.ROOT_DOMAINS), beside Prefect's UI.
    "ui_settings": ("GET", "/ui-settings", None),
}
# What CloudFront's UiSettingsHost function adds: /ui-settings answers with the viewer's host.
FORWARDED = {"x-forwarded-host": "api.example.com", "x-forwarded-proto": "https"}


@pytest.fixture(scope="module")
def lambda_env(aws_endpoint_url: str) -> Iterator[None]:
    with stack_aws_env(aws_endpoint_url):
        yield


@pytest.fixture(scope="module")
def seeded(client_module: httpx.Client) -> dict[str, str]:
    flow = client_module.post("/flows/", json={"name": "lambda-path-flow"}).json()
    run = client_module.post("/flow_runs/", json={"flow_id": flow["id"], "state": {"type": "PENDING", "name": "Pending"}}).json()
    task = client_module.post(
        "/task_runs/",
        json={"flow_run_id": run["id"], "task_key": "t", "dynamic_key": "0", "name": "t-0", "state": {"type": "PENDING", "name": "Pending"}},
    ).json()
    client_module.post("/logs/", json=[{"name": "x", "level": 20, "message": "hello", "timestamp": "2026-11-26T00:00:00Z", "flow_run_id": run["id"]}])
    client_module.post("/artifacts/", json={"type": "markdown", "data": "# hi", "flow_run_id": run["id"]})
    return {"flow_run_id": run["id"], "task_run_id": task["id"]}


@pytest.fixture(scope="module")
def client_module(api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=30) as http:
        yield http


# Derived at read time from the clock (the reference computes them per request too).
CLOCK_FIELDS = {"estimated_start_time_delta", "estimated_run_time"}


def _without_clock_fields(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_clock_fields(v) for k, v in value.items() if k not in CLOCK_FIELDS}
    if isinstance(value, list):
        return [_without_clock_fields(v) for v in value]
    return value


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def test_every_http_function_is_covered() -> None:
    # Scheduled functions (worker_expiry, ...) have no HTTP route; only HTTP domains need a request here.
    http_functions = set(http_domains())
    assert http_functions == set(REQUESTS)


@pytest.mark.parametrize("domain", sorted(REQUESTS))
def test_lambda_handler_matches_local_server(domain: str, lambda_env: None, seeded: dict[str, str], client_module: httpx.Client) -> None:
    method, path, body = REQUESTS[domain]
    path, body = _fill(path, seeded), _fill(body, seeded)
    handler = importlib.import_module(f"functions.{domain}.handler").handler
    response = handler(http_api_event(method, path, body, headers=FORWARDED), LambdaContext())
    origin = str(client_module.base_url).rstrip("/").removesuffix("/api")
    local_path = path.removeprefix("/api") if path.startswith("/api/") else origin + path
    local = client_module.request(method, local_path, json=body, headers=FORWARDED)
    assert response["statusCode"] == local.status_code, (domain, response, local.text)
    assert _without_clock_fields(decode_body(response)) == _without_clock_fields(local.json())
    if domain != "csrf_token":  # csrf is disabled: a 422 is the contract
        assert local.status_code < 400
