"""Objects made over HTTP for API tests: flows, flow runs, states, pools and deployments."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import httpx

POOL_TEMPLATE = {
    "job_configuration": {"image": "{{ image }}", "memory": "{{ memory }}"},
    "variables": {
        "type": "object",
        "properties": {
            "image": {"type": "string"},
            "memory": {"type": "integer", "default": 512},
        },
        "required": ["image"],
    },
}


def make_flow(client: httpx.Client, **extra: Any) -> dict[str, Any]:
    response = client.post("/flows/", json={"name": f"fr-{uuid.uuid4().hex[:10]}", **extra})
    assert response.status_code == 201, response.text
    return response.json()


def make_run(client: httpx.Client, flow_id: str, **body: Any) -> dict[str, Any]:
    response = client.post("/flow_runs/", json={"flow_id": flow_id, **body})
    assert response.status_code == 201, response.text
    return response.json()


def propose(client: httpx.Client, run_id: str, type_: str, **extra: Any) -> httpx.Response:
    force = extra.pop("force", False)
    state = {"type": type_, **extra}
    return client.post(f"/flow_runs/{run_id}/set_state", json={"state": state, "force": force})


def iso_in(seconds: float) -> str:
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
    return when.isoformat().replace("+00:00", "Z")


def create_process_pool(client: httpx.Client) -> dict[str, Any]:
    """A process pool whose job template takes an `image` (required) and a `memory` (default 512)."""
    response = client.post(
        "/work_pools/",
        json={"name": f"pool-{uuid.uuid4().hex[:8]}", "type": "process", "base_job_template": POOL_TEMPLATE},
    )
    assert response.status_code == 201, response.text
    return response.json()


def create_flow_id(client: httpx.Client) -> str:
    return client.post("/flows/", json={"name": f"flow-{uuid.uuid4().hex[:8]}"}).json()["id"]


def create_deployment(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post(
        "/deployments/", json={"name": f"dep-{uuid.uuid4().hex[:8]}", "flow_id": create_flow_id(client), **body}
    )
    assert response.status_code == 201, response.text
    return response.json()


def assert_422_detail(response: httpx.Response, *needles: str) -> Any:
    """A 422 whose exception_detail (validation) or detail (handler) names the problem."""
    assert response.status_code == 422, response.text
    body = response.json()
    text = str(body.get("exception_detail") or body.get("detail"))
    for needle in needles:
        assert needle in text, body
    return body
