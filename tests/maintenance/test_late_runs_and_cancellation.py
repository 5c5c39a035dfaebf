"""late_runs and cancellation_cleanup functions, invoked through their handlers."""

from __future__ import annotations

import datetime
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

UTC = datetime.UTC


def _flow_id(client: httpx.Client) -> str:
    return client.post("/flows/", json={"name": f"mnt-flow-{uuid.uuid4().hex[:8]}"}).json()["id"]


def _run(client: httpx.Client, state: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = client.post("/flow_runs/", json={"flow_id": _flow_id(client), "state": state, **body})
    assert response.status_code == 201, response.text
    return response.json()


def _state(client: httpx.Client, path: str) -> dict[str, Any]:
    return client.get(path).json()["state"]


def test_scheduled_runs_past_the_threshold_become_late(client: httpx.Client, invoke: Callable[[str], Any]) -> None:
    past = (datetime.datetime.now(UTC) - datetime.timedelta(minutes=2)).isoformat()
    soon = (datetime.datetime.now(UTC) + datetime.timedelta(minutes=10)).isoformat()
    dep = client.post("/deployments/", json={"name": "late-dep", "flow_id": _flow_id(client)}).json()
    overdue = client.post(
        f"/deployments/{dep['id']}/create_flow_run",
        json={"state": {"type": "SCHEDULED", "state_details": {"scheduled_time": past}}},
    ).json()
    upcoming = client.post(
        f"/deployments/{dep['id']}/create_flow_run",
        json={"state": {"type": "SCHEDULED", "state_details": {"scheduled_time": soon}}},
    ).json()
    no_deployment = _run(client, {"type": "SCHEDULED", "state_details": {"scheduled_time": past}})

    result = invoke("late_runs")
    assert result["checked"] >= 1
    for run in (overdue, no_deployment):
        state = _state(client, f"/flow_runs/{run['id']}")
        assert (state["type"], state["name"]) == ("SCHEDULED", "Late")
        assert state["state_details"]["scheduled_time"] is not None
    assert _state(client, f"/flow_runs/{upcoming['id']}")["name"] == "Scheduled"
    # Late is set once: a second tick writes nothing for these runs.
    history = client.get(f"/flow_run_states/?flow_run_id={overdue['id']}").json()
    invoke("late_runs")
    assert client.get(f"/flow_run_states/?flow_run_id={overdue['id']}").json() == history


@pytest.fixture
def short_cancelling_timeout(aws_env: None) -> Iterator[int]:
    from shared.config import reset_settings_cache

    os.environ["SERVERFLOW_CANCELLING_TIMEOUT_SECONDS"] = "1"
    reset_settings_cache()
    yield 1
    os.environ.pop("SERVERFLOW_CANCELLING_TIMEOUT_SECONDS", None)
    reset_settings_cache()


def test_run_stuck_in_cancelling_is_cancelled_with_its_children(
    client: httpx.Client, invoke: Callable[[str], Any], short_cancelling_timeout: int
) -> None:
    parent = _run(client, {"type": "RUNNING"})
    task = client.post(
        "/task_runs/",
        json={"flow_run_id": parent["id"], "task_key": "t", "dynamic_key": "0", "state": {"type": "RUNNING"}},
    ).json()
    subflow = _run(client, {"type": "RUNNING"}, parent_task_run_id=task["id"])
    fresh = _run(client, {"type": "RUNNING"})

    cancel = {"state": {"type": "CANCELLING", "name": "Cancelling"}}
    assert client.post(f"/flow_runs/{parent['id']}/set_state", json=cancel).json()["status"] == "ACCEPT"
    time.sleep(short_cancelling_timeout + 0.5)
    assert client.post(f"/flow_runs/{fresh['id']}/set_state", json=cancel).json()["status"] == "ACCEPT"

    result = invoke("cancellation_cleanup")
    assert result["timed_out"] >= 1
    state = _state(client, f"/flow_runs/{parent['id']}")
    assert state["type"] == "CANCELLED"
    assert state["message"] == "Flow run cancellation timed out; marked this flow run as Cancelled."
    assert _state(client, f"/task_runs/{task['id']}")["type"] == "CANCELLED"
    sub_state = _state(client, f"/flow_runs/{subflow['id']}")
    assert sub_state["type"] == "CANCELLED" and sub_state["message"] == "The parent flow run was cancelled."
    # A run that entered CANCELLING just now is left to its worker.
    assert _state(client, f"/flow_runs/{fresh['id']}")["type"] == "CANCELLING"


def test_children_of_a_cancelled_run_follow(client: httpx.Client, invoke: Callable[[str], Any]) -> None:
    """A worker force-cancels a run after killing it; its leftovers are cleaned up."""
    parent = _run(client, {"type": "RUNNING"})
    task = client.post(
        "/task_runs/",
        json={"flow_run_id": parent["id"], "task_key": "t", "dynamic_key": "0", "state": {"type": "RUNNING"}},
    ).json()
    dep = client.post("/deployments/", json={"name": "sub-dep", "flow_id": _flow_id(client)}).json()
    deployed_subflow = client.post(
        f"/deployments/{dep['id']}/create_flow_run",
        json={"parent_task_run_id": task["id"], "state": {"type": "RUNNING"}},
    ).json()
    forced = {"state": {"type": "CANCELLED"}, "force": True}
    assert client.post(f"/flow_runs/{parent['id']}/set_state", json=forced).status_code == 201

    invoke("cancellation_cleanup")
    assert _state(client, f"/task_runs/{task['id']}")["type"] == "CANCELLED"
    # A subflow with its own deployment goes CANCELLING, so its worker tears it down.
    assert _state(client, f"/flow_runs/{deployed_subflow['id']}")["type"] == "CANCELLING"
