"""POST /flow_runs/{id}/set_state and /resume over HTTP: the client contract's §2.7 table,
flow retries, force, subflow mirroring and the 20-way Scheduled→Pending race."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx

from tests.support.api import iso_in, make_flow, make_run, propose


def scheduled_run(client: httpx.Client, **body: Any) -> dict[str, Any]:
    return make_run(client, make_flow(client)["id"], state={"type": "SCHEDULED"}, **body)


def abort_reason(current: str) -> dict[str, str]:
    return {
        "type": "abort_details",
        "reason": f"This run is in a {current} state and cannot transition to a PENDING state.",
    }


# --- contract §2.7 ---------------------------------------------------------------------


def test_worker_claim_accepts_then_second_claim_aborts(client: httpx.Client) -> None:
    run = scheduled_run(client)
    first = propose(client, run["id"], "PENDING", name="Pending")
    assert first.status_code == 201
    assert first.json()["status"] == "ACCEPT" and first.json()["details"] == {"type": "accept_details"}
    assert first.json()["state"]["type"] == "PENDING"
    second = propose(client, run["id"], "PENDING", name="Pending")
    assert second.status_code == 200
    assert second.json()["status"] == "ABORT" and second.json()["details"] == abort_reason("PENDING")
    # The worker's follow-up "Submitting" pending state is allowed.
    submitting = propose(client, run["id"], "PENDING", name="Submitting")
    assert submitting.status_code == 201 and submitting.json()["status"] == "ACCEPT"


def test_late_claim_of_a_running_run_aborts(client: httpx.Client) -> None:
    run = scheduled_run(client)
    assert propose(client, run["id"], "PENDING").status_code == 201
    assert propose(client, run["id"], "RUNNING").json()["status"] == "ACCEPT"
    late = propose(client, run["id"], "PENDING")
    assert late.status_code == 200
    assert late.json()["status"] == "ABORT" and late.json()["details"] == abort_reason("RUNNING")
    assert late.json()["state"]["type"] == "RUNNING"


def test_running_before_scheduled_time_waits(client: httpx.Client) -> None:
    run = make_run(
        client, make_flow(client)["id"], state={"type": "SCHEDULED", "state_details": {"scheduled_time": iso_in(30)}}
    )
    response = propose(client, run["id"], "RUNNING")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "WAIT" and body["details"]["type"] == "wait_details"
    assert body["details"]["reason"] == "Scheduled time is in the future"
    assert 28 <= body["details"]["delay_seconds"] <= 30
    assert client.get(f"/flow_runs/{run['id']}").json()["state_type"] == "SCHEDULED"


def test_flow_retries_reject_failed_into_awaiting_retry_then_complete(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"], empirical_policy={"retries": 1, "retry_delay": 0})
    assert propose(client, run["id"], "RUNNING").json()["status"] == "ACCEPT"
    failed = propose(client, run["id"], "FAILED", message="boom")
    assert failed.status_code == 201
    body = failed.json()
    assert body["status"] == "REJECT" and body["details"]["type"] == "reject_details"
    assert (body["state"]["type"], body["state"]["name"]) == ("SCHEDULED", "AwaitingRetry")
    rerun = propose(client, run["id"], "RUNNING")
    assert rerun.status_code == 201 and rerun.json()["status"] == "ACCEPT"
    done = propose(client, run["id"], "COMPLETED")
    assert done.json()["status"] == "ACCEPT"
    final = client.get(f"/flow_runs/{run['id']}").json()
    assert final["state_type"] == "COMPLETED" and final["run_count"] == 2
    assert final["start_time"] and final["end_time"] and final["total_run_time"] >= 0
    # Out of retries: a second failure is accepted.
    other = make_run(client, make_flow(client)["id"], empirical_policy={"retries": 1, "retry_delay": 0})
    propose(client, other["id"], "RUNNING")
    propose(client, other["id"], "FAILED")
    propose(client, other["id"], "RUNNING")
    assert propose(client, other["id"], "FAILED").json()["status"] == "ACCEPT"


def test_retry_with_delay_waits_until_retry_time(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"], empirical_policy={"retries": 2, "retry_delay": 60})
    propose(client, run["id"], "RUNNING")
    assert propose(client, run["id"], "FAILED").json()["status"] == "REJECT"
    wait = propose(client, run["id"], "RUNNING")
    assert wait.status_code == 200 and wait.json()["status"] == "WAIT"
    assert 55 <= wait.json()["details"]["delay_seconds"] <= 60


def test_same_transition_id_is_rejected_with_the_current_state(client: httpx.Client) -> None:
    run = scheduled_run(client)
    tid = str(uuid.uuid4())
    first = propose(client, run["id"], "PENDING", state_details={"transition_id": tid})
    assert first.status_code == 201
    again = propose(client, run["id"], "PENDING", state_details={"transition_id": tid})
    assert again.status_code == 200
    assert again.json()["status"] == "REJECT"
    assert again.json()["state"]["id"] == first.json()["state"]["id"]


def test_terminal_state_is_kept_unless_forced(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"])
    propose(client, run["id"], "RUNNING")
    propose(client, run["id"], "COMPLETED", data={"type": "reference", "storage_key": "/tmp/r"})
    rejected = propose(client, run["id"], "RUNNING")
    assert rejected.status_code == 200 and rejected.json()["status"] == "REJECT"
    assert rejected.json()["details"]["reason"] == "Run is already COMPLETED."
    assert rejected.json()["state"]["type"] == "COMPLETED"
    forced = propose(client, run["id"], "RUNNING", force=True)
    assert forced.status_code == 201 and forced.json()["status"] == "ACCEPT"
    assert client.get(f"/flow_runs/{run['id']}").json()["state_type"] == "RUNNING"


def test_cancellation_flow_as_the_worker_does(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"])
    propose(client, run["id"], "RUNNING")
    assert propose(client, run["id"], "CANCELLING").json()["status"] == "ACCEPT"
    polled = client.post(
        "/flow_runs/filter",
        json={"flow_runs": {"id": {"any_": [run["id"]]}, "state": {"type": {"any_": ["CANCELLING"]}}}},
    )
    assert [r["id"] for r in polled.json()] == [run["id"]]
    cancelled = propose(client, run["id"], "CANCELLED", force=True)
    assert cancelled.status_code == 201 and cancelled.json()["status"] == "ACCEPT"


def test_state_data_round_trips_and_run_denormalises(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"])
    propose(client, run["id"], "RUNNING")
    result = {"type": "reference", "storage_key": "/tmp/x", "serializer": {"type": "pickle"}}
    done = propose(client, run["id"], "COMPLETED", data=result, message="ok")
    assert done.json()["state"]["data"] == result
    fetched = client.get(f"/flow_runs/{run['id']}").json()
    assert fetched["state"]["data"] == result and fetched["state"]["message"] == "ok"
    assert fetched["state_id"] == done.json()["state"]["id"]


# --- the race ----------------------------------------------------------------------------


def test_twenty_concurrent_pending_claims_exactly_one_accept(client: httpx.Client, api_url: str) -> None:
    run = scheduled_run(client)
    barrier = threading.Barrier(20)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def claim() -> None:
        with httpx.Client(base_url=api_url, timeout=60) as http:
            barrier.wait()
            response = propose(http, run["id"], "PENDING", name="Pending")
        with lock:
            results.append(response)

    threads = [threading.Thread(target=claim) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 20
    statuses = [r.json()["status"] for r in results]
    assert statuses.count("ACCEPT") == 1, statuses
    assert statuses.count("ABORT") == 19, statuses
    assert sorted(r.status_code for r in results) == [200] * 19 + [201]
    history = client.get("/flow_run_states/", params={"flow_run_id": run["id"]}).json()
    assert [s["type"] for s in history] == ["SCHEDULED", "PENDING"]
    winner = next(r for r in results if r.json()["status"] == "ACCEPT")
    assert client.get(f"/flow_runs/{run['id']}").json()["state_id"] == winner.json()["state"]["id"]


# --- subflows ------------------------------------------------------------------------------


def test_subflow_states_are_mirrored_on_the_parent_task_run(client: httpx.Client) -> None:
    flow = make_flow(client)
    parent = make_run(client, flow["id"])
    propose(client, parent["id"], "RUNNING")
    task = client.post(
        "/task_runs/",
        json={
            "flow_run_id": parent["id"],
            "task_key": "sub",
            "dynamic_key": "0",
            "name": "sub-0",
            "state": {"type": "PENDING"},
        },
    ).json()
    child = make_run(client, flow["id"], parent_task_run_id=task["id"])
    propose(client, child["id"], "RUNNING")
    propose(client, child["id"], "COMPLETED")
    mirrored = client.get(f"/task_runs/{task['id']}").json()
    assert mirrored["state_type"] == "COMPLETED"
    assert mirrored["state"]["state_details"]["child_flow_run_id"] == child["id"]


# --- resume ----------------------------------------------------------------------------------


def test_resume_a_paused_run_and_refuse_an_unpaused_one(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"])
    not_paused = client.post(f"/flow_runs/{run['id']}/resume", json={})
    assert not_paused.status_code == 200
    assert not_paused.json() == {
        "state": None,
        "status": "ABORT",
        "details": {"type": "abort_details", "reason": "Cannot resume a flow run that is not paused."},
    }
    propose(client, run["id"], "RUNNING")
    paused = propose(client, run["id"], "PAUSED", state_details={"pause_timeout": iso_in(3600)})
    assert paused.json()["status"] == "ACCEPT", paused.json()
    resumed = client.post(f"/flow_runs/{run['id']}/resume", json={})
    assert resumed.status_code == 201 and resumed.json()["status"] == "ACCEPT"
    assert resumed.json()["state"]["type"] == "RUNNING"


def test_resume_with_input_schema_missing_is_rejected(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"])
    propose(client, run["id"], "RUNNING")
    keyset = {"description": "d", "response": "r", "schema": "s"}
    propose(client, run["id"], "PAUSED", state_details={"pause_timeout": iso_in(3600), "run_input_keyset": keyset})
    response = client.post(f"/flow_runs/{run['id']}/resume", json={"run_input": {"x": 1}})
    assert response.status_code == 200
    assert response.json()["status"] == "REJECT"
    assert response.json()["details"] == {"type": "abort_details", "reason": "Run input schema not found."}
