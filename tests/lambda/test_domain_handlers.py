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
    "events": (
        "POST",
        "/api/events/filter",
        {"filter": {"resource": {"id": ["prefect.flow-run.{flow_run_id}"]}}, "limit": 5},
    ),
    "work_pools": ("POST", "/api/work_pools/filter", {"limit": 5}),
    "work_queues": ("POST", "/api/work_queues/filter", {"limit": 5}),
    "deployments": ("POST", "/api/deployments/filter", {"limit": 5}),
    "collections": ("GET", "/api/collections/views/aggregate-worker-metadata", None),
    "variables": ("POST", "/api/variables/count", {}),
    "saved_searches": ("POST", "/api/saved_searches/filter", {"limit": 5}),
    "task_workers": ("POST", "/api/task_workers/filter", {"task_worker_filter": {"task_keys": ["lambda-path.task"]}}),
    "templates": ("POST", "/api/templates/validate", "Hello {{ flow_run.name }}"),
    "observed_states": ("GET", "/api/observed-states?query=Pend&order_by=NAME_ASC", None),
    "blocks": ("GET", "/api/block_types/slug/secret", None),
    "automations": ("POST", "/api/automations/count", {}),
    # Past every limit other tests create: both paths read the same (empty) page.
    "concurrency_limits": ("POST", "/api/concurrency_limits/filter", {"limit": 1, "offset": 100000}),
    "concurrency_limits_v2": ("POST", "/api/v2/concurrency_limits/filter", {"limit": 1, "offset": 100000}),
    "ui": ("POST", "/api/ui/flow_runs/count-task-runs", {"flow_run_ids": ["{flow_run_id}"]}),
    "ui_settings": ("GET", "/ui-settings", None),
}


@pytest.fixture(scope="module")
def lambda_env(aws_endpoint_url: str) -> Iterator[None]:
    with stack_aws_env(aws_endpoint_url):
        yield


@pytest.fixture(scope="module")
def seeded(client_module: httpx.Client) -> dict[str, str]:
    flow = client_module.post("/flows/", json={"name": "lambda-path-flow"}).json()
    run = client_module.post(
        "/flow_runs/", json={"flow_id": flow["id"], "state": {"type": "PENDING", "name": "Pending"}}
    ).json()
    task = client_module.post(
        "/task_runs/",
        json={
            "flow_run_id": run["id"],
            "task_key": "t",
            "dynamic_key": "0",
            "name": "t-0",
            "state": {"type": "PENDING", "name": "Pending"},
        },
    ).json()
    client_module.post(
        "/logs/",
        json=[
            {
                "name": "x",
                "level": 20,
                "message": "hello",
                "timestamp": "2026-11-26T00:00:00Z",
                "flow_run_id": run["id"],
            }
        ],
    )
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
def test_lambda_handler_matches_local_server(
    domain: str, lambda_env: None, seeded: dict[str, str], client_module: httpx.Client
) -> None:
    method, path, body = REQUESTS[domain]
    path, body = _fill(path, seeded), _fill(body, seeded)
    handler = importlib.import_module(f"functions.{domain}.handler").handler
    response = handler(http_api_event(method, path, body), LambdaContext())
    # Served under /api like the client's base URL, or at the root (/ui-settings).
    url = path.removeprefix("/api") if path.startswith("/api/") else str(client_module.base_url.copy_with(path=path))
    local = client_module.request(method, url, json=body)
    assert response["statusCode"] == local.status_code, (domain, response, local.text)
    if not local.content:  # e.g. 204 No Content
        assert not response.get("body")
    else:
        lambda_body, local_body = decode_body(response), local.json()
        if domain == "ui_settings":  # api_url is each request's own origin + /api
            assert lambda_body.pop("api_url").endswith("/api") and local_body.pop("api_url").endswith("/api")
        assert _without_clock_fields(lambda_body) == _without_clock_fields(local_body)
    if domain != "csrf_token":  # csrf is disabled: a 422 is the contract
        assert local.status_code < 400
