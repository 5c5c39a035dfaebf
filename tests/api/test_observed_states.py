"""GET /observed-states over HTTP: state type/name pairs seen in flow and task run transitions."""

from __future__ import annotations

import datetime
import uuid

import httpx

from shared.schemas.states import State, StateType
from shared.storage import observed_states
from tests.aws_env import stack_aws_env
from tests.support.api import make_flow, make_run


def _observed(client: httpx.Client, **params: object) -> list[dict[str, object]]:
    response = client.get("/observed-states", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_states_written_by_runs_are_observed(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    run = make_run(client, make_flow(client)["id"], state={"type": "SCHEDULED", "name": f"Flowish-{tag}"})
    moved = client.post(
        f"/flow_runs/{run['id']}/set_state", json={"state": {"type": "PENDING", "name": f"Queued-{tag}"}}
    )
    assert moved.json()["status"] == "ACCEPT", moved.text
    task = client.post(
        "/task_runs/",
        json={
            "flow_run_id": run["id"],
            "task_key": "k",
            "dynamic_key": tag,
            "state": {"type": "RUNNING", "name": f"Tasky-{tag}"},
        },
    )
    assert task.status_code == 201, task.text

    found = _observed(client, query=f"flowish-{tag}")  # case-insensitive name prefix
    assert [(o["state_type"], o["state_name"]) for o in found] == [("SCHEDULED", f"Flowish-{tag}")]
    assert found[0]["first_seen"] == found[0]["last_seen"]
    names = {o["state_name"] for o in _observed(client, order_by="NAME_ASC")}
    assert {f"Flowish-{tag}", f"Queued-{tag}", f"Tasky-{tag}"} <= names
    by_type = _observed(client, query="pend")
    assert by_type and all(o["state_type"] == "PENDING" for o in by_type)
    newest = _observed(client)  # LAST_SEEN_DESC
    stamps = [o["last_seen"] for o in newest]
    assert stamps == sorted(stamps, reverse=True)


def test_bounds_widen_with_older_and_newer_transitions(client: httpx.Client, aws_endpoint_url: str) -> None:
    name = f"Bounds-{uuid.uuid4().hex[:8]}"
    base = datetime.datetime(2026, 5, 1, 12, tzinfo=datetime.UTC)
    with stack_aws_env(aws_endpoint_url):
        for offset in (10, 0, 300, 120):  # out of order, and further apart than the write throttle
            observed_states.note(
                [State(type=StateType.COMPLETED, name=name, timestamp=base + datetime.timedelta(minutes=offset))]
            )
    [found] = _observed(client, query=name)
    assert found["first_seen"].startswith("2026-05-01T12:00:00")
    assert found["last_seen"].startswith("2026-05-01T17:00:00")


def test_bad_parameters_are_422(client: httpx.Client) -> None:
    assert client.get("/observed-states", params={"limit": 0}).status_code == 422
    assert client.get("/observed-states", params={"limit": 201}).status_code == 422
    assert client.get("/observed-states", params={"order_by": "BOGUS"}).status_code == 422
    assert client.get("/observed-states", params={"query": "x" * 101}).status_code == 422
    assert len(_observed(client, limit=1)) <= 1
