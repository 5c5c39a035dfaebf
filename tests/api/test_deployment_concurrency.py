"""Deployment concurrency limits enforced by flow-run orchestration, over HTTP."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from prefect.client.schemas.responses import DeploymentResponse


def _deployment(client: httpx.Client, limit: int | None, strategy: str | None = None, **extra: Any) -> dict[str, Any]:
    flow_id = client.post("/flows/", json={"name": f"dc-flow-{uuid.uuid4().hex[:8]}"}).json()["id"]
    body: dict[str, Any] = {"name": f"dc-{uuid.uuid4().hex[:8]}", "flow_id": flow_id, **extra}
    if limit is not None:
        body["concurrency_limit"] = limit
    if strategy is not None:
        body["concurrency_options"] = {"collision_strategy": strategy}
    response = client.post("/deployments/", json=body)
    assert response.status_code == 201, response.text
    DeploymentResponse.model_validate(response.json())
    return response.json()


def _run(client: httpx.Client, deployment_id: str) -> str:
    response = client.post(f"/deployments/{deployment_id}/create_flow_run", json={})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _propose(client: httpx.Client, run_id: str, state_type: str, force: bool = False, **state: Any) -> dict[str, Any]:
    response = client.post(
        f"/flow_runs/{run_id}/set_state", json={"state": {"type": state_type, **state}, "force": force}
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def _slots(client: httpx.Client, deployment: dict[str, Any]) -> int:
    return int(client.get(f"/v2/concurrency_limits/deployment:{deployment['id']}").json()["active_slots"])


def test_deployment_limit_is_a_v2_limit_shown_on_the_deployment(client: httpx.Client) -> None:
    deployment = _deployment(client, 2, "CANCEL_NEW")
    gcl = deployment["global_concurrency_limit"]
    assert gcl["name"] == f"deployment:{deployment['id']}" and gcl["limit"] == 2
    assert deployment["concurrency_options"] == {"collision_strategy": "CANCEL_NEW", "grace_period_seconds": None}
    assert client.patch(f"/deployments/{deployment['id']}", json={"concurrency_limit": 5}).status_code == 204
    assert client.get(f"/deployments/{deployment['id']}").json()["global_concurrency_limit"]["limit"] == 5
    assert client.get(f"/v2/concurrency_limits/deployment:{deployment['id']}").json()["limit"] == 5
    assert client.delete(f"/deployments/{deployment['id']}").status_code == 204
    assert client.get(f"/v2/concurrency_limits/deployment:{deployment['id']}").status_code == 404
    bad = client.post("/deployments/", json={"name": "x", "flow_id": str(uuid.uuid4()), "concurrency_limit": -1})
    assert bad.status_code == 422


def test_enqueue_holds_extra_runs_until_the_slot_is_released(client: httpx.Client) -> None:
    deployment = _deployment(client, 1, "ENQUEUE")
    first, second = _run(client, deployment["id"]), _run(client, deployment["id"])
    granted = _propose(client, first, "PENDING")
    assert granted["status"] == "ACCEPT"
    lease_id = granted["state"]["state_details"]["deployment_concurrency_lease_id"]
    assert lease_id and _slots(client, deployment) == 1
    waiting = _propose(client, second, "PENDING")
    assert waiting["status"] == "REJECT" and waiting["details"]["reason"] == "Deployment concurrency limit reached."
    assert waiting["state"]["type"] == "SCHEDULED" and waiting["state"]["name"] == "AwaitingConcurrencySlot"
    # RUNNING keeps (renews) the lease; a worker's null lease id does not drop it
    running = _propose(client, first, "RUNNING", state_details={"deployment_concurrency_lease_id": None})
    assert (
        running["status"] == "ACCEPT"
        and running["state"]["state_details"]["deployment_concurrency_lease_id"] == lease_id
    )
    assert (
        client.post(f"/v2/concurrency_limits/leases/{lease_id}/renew", json={"lease_duration": 60}).status_code == 204
    )
    assert _propose(client, first, "COMPLETED")["status"] == "ACCEPT"
    assert _slots(client, deployment) == 0
    assert client.post(f"/v2/concurrency_limits/leases/{lease_id}/renew", json={}).status_code == 410
    assert _propose(client, second, "PENDING")["status"] == "ACCEPT"
    assert _slots(client, deployment) == 1


def test_cancel_new_cancels_extra_runs(client: httpx.Client) -> None:
    deployment = _deployment(client, 1, "CANCEL_NEW")
    first, second = _run(client, deployment["id"]), _run(client, deployment["id"])
    assert _propose(client, first, "PENDING")["status"] == "ACCEPT"
    cancelled = _propose(client, second, "PENDING")
    assert cancelled["status"] == "REJECT" and cancelled["state"]["type"] == "CANCELLED"
    assert client.get(f"/flow_runs/{second}").json()["state"]["type"] == "CANCELLED"
    assert _slots(client, deployment) == 1


def test_forced_cancel_and_failed_runs_release_their_slot(client: httpx.Client) -> None:
    deployment = _deployment(client, 1)
    run = _run(client, deployment["id"])
    _propose(client, run, "PENDING")
    _propose(client, run, "RUNNING")
    _propose(client, run, "CANCELLING")
    assert _slots(client, deployment) == 1
    # the worker kills the process and forces CANCELLED (MinimalFlowPolicy path)
    assert _propose(client, run, "CANCELLED", force=True)["status"] == "ACCEPT"
    assert _slots(client, deployment) == 0
    other = _run(client, deployment["id"])
    _propose(client, other, "PENDING")
    _propose(client, other, "RUNNING")
    _propose(client, other, "FAILED")
    assert _slots(client, deployment) == 0


def test_zero_limit_aborts(client: httpx.Client) -> None:
    deployment = _deployment(client, 1)
    client.patch(f"/v2/concurrency_limits/deployment:{deployment['id']}", json={"limit": 0})
    response = _propose(client, _run(client, deployment["id"]), "PENDING")
    assert response["status"] == "ABORT" and "deadlock" in response["details"]["reason"]


def test_racing_claims_never_exceed_the_deployment_limit(api_url: str, client: httpx.Client) -> None:
    deployment = _deployment(client, 2, "CANCEL_NEW")
    runs = [_run(client, deployment["id"]) for _ in range(12)]

    def claim(run_id: str) -> str:
        with httpx.Client(base_url=api_url, timeout=60) as http:
            return str(_propose(http, run_id, "PENDING")["status"])

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(claim, runs))
    print(f"\n12 concurrent PENDING claims on a deployment limit of 2: {statuses.count('ACCEPT')} accepted")
    assert statuses.count("ACCEPT") == 2 and statuses.count("REJECT") == 10
    assert _slots(client, deployment) == 2
    states = [client.get(f"/flow_runs/{r}").json()["state"]["type"] for r in runs]
    assert states.count("PENDING") == 2 and states.count("CANCELLED") == 10
