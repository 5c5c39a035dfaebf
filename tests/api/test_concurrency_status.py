"""POST /work_pools/{name}/concurrency_status and /work_queues/{id}/concurrency_status over HTTP
and through the real client."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import uuid
from typing import Any

import httpx

from tests.api.work_pools_support import create_pool, ok, unique
from tests.e2e.prefect_env import prefect_env


def _run_in(client: httpx.Client, deployment_id: str, queue: str, *states: str) -> dict[str, Any]:
    run = ok(client.post(f"/deployments/{deployment_id}/create_flow_run", json={"work_queue_name": queue}), 201)
    for state in states:
        result = ok(client.post(f"/flow_runs/{run['id']}/set_state", json={"state": {"type": state}}), 201)
        assert result["status"] == "ACCEPT", result
    return run


def _pool_with_runs(client: httpx.Client) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    pool = create_pool(client, concurrency_limit=5)
    high = ok(
        client.post(f"/work_pools/{pool['name']}/queues", json={"name": "high", "concurrency_limit": 2, "priority": 1}),
        201,
    )
    flow_id = ok(client.post("/flows/", json={"name": unique("flow")}), 201)["id"]
    dep = ok(
        client.post("/deployments/", json={"name": unique("dep"), "flow_id": flow_id, "work_pool_name": pool["name"]}),
        201,
    )
    runs = [
        _run_in(client, dep["id"], "high", "PENDING"),
        _run_in(client, dep["id"], "high", "PENDING", "RUNNING"),
        _run_in(client, dep["id"], "default", "PENDING", "RUNNING"),
        _run_in(client, dep["id"], "default"),  # SCHEDULED: holds no slot
        _run_in(client, dep["id"], "default", "PENDING", "RUNNING", "COMPLETED"),
    ]
    return pool, high, runs


def test_pool_and_queue_concurrency_status(client: httpx.Client) -> None:
    pool, high, runs = _pool_with_runs(client)
    status = ok(client.post(f"/work_pools/{pool['name']}/concurrency_status", json={}))
    assert status["active_slots"] == 3 and status["concurrency_limit"] == 5
    assert status["count"] == 2 and status["page"] == 1 and status["pages"] == 1
    by_name = {q["queue_name"]: q for q in status["queues"]}
    assert [q["queue_name"] for q in status["queues"]] == ["high", "default"]  # priority order
    assert by_name["high"]["active_slots"] == 2 and by_name["high"]["concurrency_limit"] == 2
    assert [r["id"] for r in by_name["high"]["flow_runs"]] == sorted([runs[0]["id"], runs[1]["id"]])
    assert by_name["default"]["flow_run_count"] == 1 and by_name["default"]["flow_runs"][0]["id"] == runs[2]["id"]
    summary = by_name["default"]["flow_runs"][0]
    assert summary["state_type"] == "RUNNING" and summary["state_name"] == "Running"
    assert isinstance(summary["time_in_current_state"], float) and summary["time_in_current_state"] >= 0

    capped = ok(
        client.post(f"/work_pools/{pool['name']}/concurrency_status", json={"flow_run_limit": 1, "limit": 1, "page": 1})
    )
    assert capped["pages"] == 2 and len(capped["queues"]) == 1
    assert capped["queues"][0]["flow_run_count"] == 2 and len(capped["queues"][0]["flow_runs"]) == 1
    second_page = ok(client.post(f"/work_pools/{pool['name']}/concurrency_status", json={"limit": 1, "page": 2}))
    assert [q["queue_name"] for q in second_page["queues"]] == ["default"]

    queue_status = ok(client.post(f"/work_queues/{high['id']}/concurrency_status", json={"limit": 1}))
    assert queue_status["active_slots"] == 2 and queue_status["count"] == 2 and queue_status["pages"] == 2
    assert len(queue_status["flow_runs"]) == 1 and queue_status["concurrency_limit"] == 2


def test_concurrency_status_bad_input(client: httpx.Client) -> None:
    missing = client.post(f"/work_pools/{unique('nope')}/concurrency_status", json={})
    assert missing.status_code == 404 and "not found" in missing.json()["detail"]
    assert client.post(f"/work_queues/{uuid.uuid4()}/concurrency_status", json={}).json() == {
        "detail": "Work queue not found."
    }
    pool = create_pool(client)
    assert client.post(f"/work_pools/{pool['name']}/concurrency_status", json={"page": 0}).status_code == 422
    assert (
        client.post(f"/work_pools/{pool['name']}/concurrency_status", json={"flow_run_limit": 201}).status_code == 422
    )
    assert client.post(f"/work_pools/{pool['name']}/concurrency_status", json={"limit": -1}).status_code == 422
    assert client.post(f"/work_pools/{pool['name']}/concurrency_status", json={"page": 10**20}).json()["queues"] == []


CLIENT_SCRIPT = """
import json, sys
from prefect.client.orchestration import get_client
with get_client(sync_client=True) as client:
    pool = client.read_work_pool_concurrency_status(sys.argv[1], flow_run_limit=5)
    queue = client.read_work_queue_concurrency_status(sys.argv[2])
print(json.dumps({"pool": pool.active_slots, "queues": [q.queue_name for q in pool.queues], "queue": queue.active_slots}))
"""


def test_real_client_reads_concurrency_status(api_url: str, client: httpx.Client) -> None:
    pool, high, _ = _pool_with_runs(client)
    with tempfile.TemporaryDirectory(prefix="prefect-home-") as home:
        result = subprocess.run(
            [sys.executable, "-c", CLIENT_SCRIPT, pool["name"], high["id"]],
            env=prefect_env(api_url, home),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"pool": 3, "queues": ["high", "default"], "queue": 2}
