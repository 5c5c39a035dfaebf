"""POST /task_runs/history over HTTP: state counts per interval of expected start time."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import httpx
import pytest
from prefect.client.schemas.responses import HistoryResponse as ClientHistoryResponse

from tests.support.api import make_flow, make_run


def _task_run(client: httpx.Client, flow_run_id: str, state: dict[str, Any]) -> dict[str, Any]:
    body = {"flow_run_id": flow_run_id, "task_key": f"t-{uuid.uuid4().hex[:6]}", "dynamic_key": "0", "state": state}
    response = client.post("/task_runs/", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_task_run_history_buckets_the_filtered_runs(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"])
    made = [_task_run(client, run["id"], {"type": t}) for t in ("PENDING", "PENDING", "COMPLETED")]
    starts = [datetime.datetime.fromisoformat(m["expected_start_time"]) for m in made]
    start = min(starts) - datetime.timedelta(seconds=30)
    body = {
        "history_start": start.isoformat(),
        "history_end": (start + datetime.timedelta(minutes=10)).isoformat(),
        "history_interval_seconds": 60,
        "flow_runs": {"id": {"any_": [run["id"]]}},
    }
    response = client.post("/task_runs/history", json=body)
    assert response.status_code == 200, response.text
    buckets = [ClientHistoryResponse.model_validate(b) for b in response.json()]
    assert len(buckets) == 10
    counts: dict[str, int] = {}
    for bucket in buckets:
        for state in bucket.states:
            counts[state.state_name] = counts.get(state.state_name, 0) + state.count_runs
    assert counts == {"Pending": 2, "Completed": 1}
    other = client.post("/task_runs/history", json={**body, "flow_runs": {"id": {"any_": [str(uuid.uuid4())]}}})
    assert all(b["states"] == [] for b in other.json())


@pytest.mark.parametrize("interval", [0.5, 1e300])
def test_task_run_history_bad_interval_is_422(client: httpx.Client, interval: float) -> None:
    body = {
        "history_start": "2026-01-01T00:00:00Z",
        "history_end": "2026-01-02T00:00:00Z",
        "history_interval_seconds": interval,
    }
    response = client.post("/task_runs/history", json=body)
    assert response.status_code == 422 and "History interval" in response.json()["detail"]


def test_task_run_history_requires_its_bounds(client: httpx.Client) -> None:
    assert client.post("/task_runs/history", json={"history_interval_seconds": 60}).status_code == 422
