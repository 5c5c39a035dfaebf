"""The /ui/* routes Prefect's UI reads, through HTTP against the local stack, shaped like the reference's."""

from __future__ import annotations

import datetime
import time
import uuid
from typing import Any

import httpx
import pytest


def _flow(client: httpx.Client, name: str | None = None) -> dict[str, Any]:
    response = client.post("/flows/", json={"name": name or f"ui-flow-{uuid.uuid4().hex[:8]}"})
    assert response.status_code in (200, 201), response.text
    return response.json()


def _flow_run(client: httpx.Client, flow_id: str, **body: Any) -> dict[str, Any]:
    response = client.post("/flow_runs/", json={"flow_id": flow_id, **body})
    assert response.status_code == 201, response.text
    return response.json()


def _task_run(client: httpx.Client, flow_run_id: str, key: str, **body: Any) -> dict[str, Any]:
    response = client.post(
        "/task_runs/", json={"flow_run_id": flow_run_id, "task_key": key, "dynamic_key": "0", "name": key, **body}
    )
    assert response.status_code == 201, response.text
    return response.json()


def _set_state(client: httpx.Client, kind: str, run_id: str, state_type: str, **details: Any) -> None:
    response = client.post(
        f"/{kind}/{run_id}/set_state", json={"state": {"type": state_type, "state_details": details}, "force": True}
    )
    assert response.status_code in (200, 201), response.text


def test_ui_settings_point_the_ui_at_this_origins_api(api_url: str) -> None:
    origin = api_url.removesuffix("/api")
    body = httpx.get(f"{origin}/ui-settings").json()
    assert body == {
        "api_url": f"{origin}/api",
        "csrf_enabled": False,
        "auth": None,
        "flags": [],
        "default_ui": "v2",
        "available_uis": ["v1", "v2"],
        "v1_base_url": "/",
        "v2_base_url": "/v2",
    }


def test_count_deployments_and_next_runs_by_flow(client: httpx.Client) -> None:
    flow, other = _flow(client), _flow(client)
    for name in ("a", "b"):
        assert client.post("/deployments/", json={"flow_id": flow["id"], "name": name}).status_code in (200, 201)
    missing = str(uuid.uuid4())
    counts = client.post("/ui/flows/count-deployments", json={"flow_ids": [flow["id"], other["id"], missing]}).json()
    assert counts == {flow["id"]: 2, other["id"]: 0, missing: 0}

    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    later = soon + datetime.timedelta(hours=1)
    for when, name in ((later, "later"), (soon, "soon")):
        _flow_run(
            client,
            flow["id"],
            name=name,
            state={"type": "SCHEDULED", "state_details": {"scheduled_time": when.isoformat()}},
        )
    _flow_run(client, flow["id"], name="running", state={"type": "RUNNING"})
    nxt = client.post("/ui/flows/next-runs", json={"flow_ids": [flow["id"], other["id"]]}).json()
    assert nxt[other["id"]] is None
    assert nxt[flow["id"]]["name"] == "soon"
    assert set(nxt[flow["id"]]) == {"id", "flow_id", "name", "state_name", "state_type", "next_scheduled_start_time"}
    assert nxt[flow["id"]]["state_type"] == "SCHEDULED" and nxt[flow["id"]]["flow_id"] == flow["id"]
    # A run that leaves SCHEDULED is no longer the next one (the per-flow index is sparse; it
    # is eventually consistent, so poll briefly).
    _set_state(client, "flow_runs", nxt[flow["id"]]["id"], "PENDING")
    deadline = time.monotonic() + 10
    while (
        name := client.post("/ui/flows/next-runs", json={"flow_ids": [flow["id"]]}).json()[flow["id"]]["name"]
    ) != "later":
        assert time.monotonic() < deadline, name
        time.sleep(0.2)
    assert client.post("/ui/flows/next-runs", json={"flow_ids": [str(uuid.uuid4())] * 201}).status_code == 422


def test_flow_run_history_points_and_task_run_counts(client: httpx.Client) -> None:
    flow = _flow(client)
    run = _flow_run(client, flow["id"], state={"type": "COMPLETED"})
    parent = _task_run(client, run["id"], "t1", state={"type": "COMPLETED"})
    _task_run(client, run["id"], "t2")
    # A task run standing for a subflow is not counted, as the reference.
    _task_run(client, run["id"], "sub")
    sub_task = client.post(
        "/task_runs/filter", json={"task_runs": {"flow_run_id": {"any_": [run["id"]]}, "name": {"any_": ["sub"]}}}
    ).json()[0]
    child = _flow_run(client, flow["id"], parent_task_run_id=sub_task["id"])
    _set_state(client, "task_runs", sub_task["id"], "RUNNING", child_flow_run_id=child["id"])
    counts = client.post("/ui/flow_runs/count-task-runs", json={"flow_run_ids": [run["id"], child["id"]]}).json()
    assert counts == {run["id"]: 2, child["id"]: 0}

    points = client.post("/ui/flow_runs/history", json={"flows": {"id": {"any_": [flow["id"]]}}, "limit": 10}).json()
    assert {p["id"] for p in points} == {run["id"], child["id"]}
    point = next(p for p in points if p["id"] == run["id"])
    assert set(point) == {"id", "state_type", "timestamp", "duration", "lateness"}
    assert point["state_type"] == "COMPLETED" and isinstance(point["duration"], float)
    assert client.post("/ui/flow_runs/history", json={"limit": 1001}).status_code == 422

    ui_task = client.get(f"/ui/task_runs/{parent['id']}").json()
    assert ui_task["flow_run_name"] == run["name"] and ui_task["id"] == parent["id"]
    assert client.get(f"/ui/task_runs/{uuid.uuid4()}").json() == {"detail": "Task not found"}

    by_state = client.post("/ui/task_runs/count", json={"flow_runs": {"id": {"any_": [run["id"]]}}}).json()
    assert set(by_state) == {
        "COMPLETED",
        "PENDING",
        "RUNNING",
        "FAILED",
        "CANCELLED",
        "CRASHED",
        "PAUSED",
        "CANCELLING",
        "SCHEDULED",
    }
    assert by_state["COMPLETED"] == 1 and by_state["RUNNING"] == 1


def test_dashboard_task_run_counts_bucket_terminal_runs_by_start_time(client: httpx.Client) -> None:
    assert client.post("/ui/task_runs/dashboard/counts", json={"task_runs": {}}).status_code == 422
    flow = _flow(client)
    run = _flow_run(client, flow["id"])
    done = _task_run(client, run["id"], "done")
    failed = _task_run(client, run["id"], "failed")
    for task_run, final in ((done, "COMPLETED"), (failed, "FAILED")):
        _set_state(client, "task_runs", task_run["id"], "RUNNING")
        _set_state(client, "task_runs", task_run["id"], final)
    start = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)).isoformat()
    body = {"task_runs": {"start_time": {"after_": start}}, "flow_runs": {"id": {"any_": [run["id"]]}}}
    buckets = client.post("/ui/task_runs/dashboard/counts", json=body).json()
    assert len(buckets) == 20 and all(set(b) == {"completed", "failed"} for b in buckets)
    assert sum(b["completed"] for b in buckets) == 1 and sum(b["failed"] for b in buckets) == 1
    # Runs start now: the last bucket of the past hour.
    assert buckets[-1] == {"completed": 1, "failed": 1}


@pytest.mark.parametrize(
    ("schema", "values"),
    [
        ({"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x", "y"]}, {"x": "a"}),
        ({"type": "object", "properties": {"xs": {"type": "array", "items": {"type": "string"}}}}, {"xs": ["a", 1, 2]}),
        ({"type": "object", "properties": {"n": {"type": "integer", "minimum": 3}}}, {"n": 5}),
        (
            {
                "type": "object",
                "properties": {"o": {"type": "object", "properties": {"a": {"type": "boolean"}}, "required": ["a"]}},
            },
            {"o": {}},
        ),
    ],
)
def test_schema_validation_errors_have_the_references_tree(
    client: httpx.Client, schema: dict[str, Any], values: dict[str, Any]
) -> None:
    from prefect.utilities.schema_tools.validation import build_error_obj, validate

    expected = build_error_obj(validate(values, schema, preprocess=True))
    answer = client.post("/ui/schemas/validate", json={"schema": schema, "values": values})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {**expected, "valid": expected["valid"]}


def test_schema_validation_of_a_bad_schema_is_a_422(client: httpx.Client) -> None:
    answer = client.post("/ui/schemas/validate", json={"schema": {"type": "nope"}, "values": {}})
    assert answer.status_code == 422 and "detail" in answer.json()


def test_task_run_counts_of_a_start_time_window(client: httpx.Client) -> None:
    """Without a flow-run filter the counts read the started-runs index by start time: runs that started
    before the window, and runs that never started, are not counted; an OR filter is not a window."""
    tag = f"ui-window-{uuid.uuid4().hex[:8]}"
    run = _flow_run(client, _flow(client)["id"])
    early = [_task_run(client, run["id"], f"early-{i}", tags=[tag]) for i in range(2)]
    for task_run in early:
        _set_state(client, "task_runs", task_run["id"], "RUNNING")
        _set_state(client, "task_runs", task_run["id"], "COMPLETED")
    started = [client.get(f"/task_runs/{t['id']}").json()["start_time"] for t in early]
    window_start = (
        max(datetime.datetime.fromisoformat(s) for s in started) + datetime.timedelta(microseconds=1)
    ).isoformat()
    ends = {"done": "COMPLETED", "failed": "FAILED", "running": None}
    for name, final in ends.items():
        task_run = _task_run(client, run["id"], name, tags=[tag])
        _set_state(client, "task_runs", task_run["id"], "RUNNING")
        if final is not None:
            _set_state(client, "task_runs", task_run["id"], final)
    _task_run(client, run["id"], "never-started", tags=[tag])
    window = {"start_time": {"after_": window_start}, "tags": {"all_": [tag]}}

    buckets = client.post("/ui/task_runs/dashboard/counts", json={"task_runs": window}).json()
    assert (sum(b["completed"] for b in buckets), sum(b["failed"] for b in buckets)) == (1, 1)
    by_state = client.post("/ui/task_runs/count", json={"task_runs": window}).json()
    assert {k: v for k, v in by_state.items() if v} == {"COMPLETED": 1, "FAILED": 1, "RUNNING": 1}
    before = {"start_time": {"before_": max(started)}, "tags": {"all_": [tag]}}
    assert {t["name"] for t in client.post("/task_runs/filter", json={"task_runs": before}).json()} == {
        "early-0",
        "early-1",
    }
    either = {"operator": "or_", "start_time": {"after_": "2999-01-01T00:00:00Z"}, "tags": {"all_": [tag]}}
    assert len(client.post("/task_runs/filter", json={"task_runs": either}).json()) == 6
