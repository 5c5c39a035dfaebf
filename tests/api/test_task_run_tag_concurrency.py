"""Server-side task-run orchestration (POST /task_runs/{id}/set_state) takes and releases
`tag:` slots like the reference's SecureTaskConcurrencySlots / ReleaseTaskConcurrencySlots."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def _flow_run(client: httpx.Client) -> str:
    flow_id = client.post("/flows/", json={"name": f"tt-flow-{uuid.uuid4().hex[:8]}"}).json()["id"]
    return client.post("/flow_runs/", json={"flow_id": flow_id, "state": {"type": "RUNNING"}}).json()["id"]


def _task_run(client: httpx.Client, flow_run_id: str, tags: list[str]) -> str:
    response = client.post(
        "/task_runs/",
        json={
            "flow_run_id": flow_run_id,
            "task_key": uuid.uuid4().hex,
            "dynamic_key": "0",
            "tags": tags,
            "state": {"type": "PENDING"},
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _propose(client: httpx.Client, task_run_id: str, state_type: str) -> dict[str, Any]:
    response = client.post(f"/task_runs/{task_run_id}/set_state", json={"state": {"type": state_type}})
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_running_takes_a_tag_slot_and_waits_when_full(client: httpx.Client) -> None:
    tag = f"tt-{uuid.uuid4().hex[:8]}"
    client.post("/concurrency_limits/", json={"tag": tag, "concurrency_limit": 1})
    flow_run = _flow_run(client)
    first, second = _task_run(client, flow_run, [tag, "unlimited"]), _task_run(client, flow_run, [tag])
    assert _propose(client, first, "RUNNING")["status"] == "ACCEPT"
    assert client.get(f"/concurrency_limits/tag/{tag}").json()["active_slots"] == [first]
    waiting = _propose(client, second, "RUNNING")
    assert waiting["status"] == "WAIT" and tag in waiting["details"]["reason"]
    assert waiting["details"]["delay_seconds"] >= 1
    assert client.get(f"/task_runs/{second}").json()["state"]["type"] == "PENDING"
    assert _propose(client, first, "COMPLETED")["status"] == "ACCEPT"
    assert client.get(f"/concurrency_limits/tag/{tag}").json()["active_slots"] == []
    assert _propose(client, second, "RUNNING")["status"] == "ACCEPT"
    assert _propose(client, second, "FAILED")["status"] == "ACCEPT"
    assert client.get(f"/v2/concurrency_limits/tag:{tag}").json()["active_slots"] == 0


def test_zero_tag_limit_aborts(client: httpx.Client) -> None:
    tag = f"tt-{uuid.uuid4().hex[:8]}"
    client.post("/concurrency_limits/", json={"tag": tag, "concurrency_limit": 0})
    response = _propose(client, _task_run(client, _flow_run(client), [tag]), "RUNNING")
    assert response["status"] == "ABORT" and "deadlock" in response["details"]["reason"]
