"""GET /flow_runs/{id}/graph and graph-v2: the flow-run page's graph, shaped like the reference's."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _state(client: httpx.Client, kind: str, run_id: str, state_type: str, **details: Any) -> None:
    response = client.post(
        f"/{kind}/{run_id}/set_state", json={"state": {"type": state_type, "state_details": details}, "force": True}
    )
    assert response.status_code in (200, 201), response.text


def _task(client: httpx.Client, run_id: str, key: str, **body: Any) -> dict[str, Any]:
    return _post(
        client, "/task_runs/", {"flow_run_id": run_id, "task_key": key, "dynamic_key": "0", "name": key, **body}
    )


def test_graph_v2_has_nodes_edges_subflows_artifacts_and_states(client: httpx.Client) -> None:
    flow = _post(client, "/flows/", {"name": f"graph-flow-{uuid.uuid4().hex[:6]}"})
    child_flow = _post(client, "/flows/", {"name": f"graph-child-{uuid.uuid4().hex[:6]}"})
    run = _post(client, "/flow_runs/", {"flow_id": flow["id"], "name": "graph-parent"})
    _state(client, "flow_runs", run["id"], "RUNNING")
    first = _task(client, run["id"], "first")
    second = _task(client, run["id"], "second", task_inputs={"x": [{"input_type": "task_run", "id": first["id"]}]})
    wrapper = _task(client, run["id"], "wrapper")
    inner = _task(
        client, run["id"], "inner", task_inputs={"__parents__": [{"input_type": "task_run", "id": wrapper["id"]}]}
    )
    sub_task = _task(client, run["id"], "sub")
    child = _post(
        client,
        "/flow_runs/",
        {"flow_id": child_flow["id"], "name": "graph-child", "parent_task_run_id": sub_task["id"]},
    )
    for task_run in (first, second, wrapper, inner):
        _state(client, "task_runs", task_run["id"], "RUNNING")
        _state(client, "task_runs", task_run["id"], "COMPLETED")
    _state(client, "flow_runs", child["id"], "RUNNING")
    _state(client, "task_runs", sub_task["id"], "RUNNING", child_flow_run_id=child["id"])
    artifact = _post(
        client,
        "/artifacts/",
        {
            "key": f"graph-{uuid.uuid4().hex[:6]}",
            "type": "markdown",
            "data": "# hi",
            "flow_run_id": run["id"],
            "task_run_id": first["id"],
        },
    )
    progress = _post(client, "/artifacts/", {"type": "progress", "data": 50.0, "flow_run_id": run["id"]})
    _post(client, "/artifacts/", {"type": "result", "data": "ignored", "flow_run_id": run["id"]})

    graph = client.get(f"/flow_runs/{run['id']}/graph-v2").json()
    assert set(graph) == {"start_time", "end_time", "root_node_ids", "nodes", "artifacts", "states"}
    nodes = dict(graph["nodes"])
    assert set(nodes) == {first["id"], second["id"], wrapper["id"], inner["id"], child["id"]}
    assert nodes[child["id"]]["kind"] == "flow-run"
    assert nodes[child["id"]]["label"] == f"{child_flow['name']} / graph-child"
    assert nodes[child["id"]]["state_type"] == "RUNNING" and nodes[child["id"]]["end_time"] is None
    assert nodes[first["id"]]["kind"] == "task-run" and nodes[first["id"]]["label"] == "first"
    assert nodes[second["id"]]["parents"] == [{"id": first["id"]}]
    assert nodes[first["id"]]["children"] == [{"id": second["id"]}]
    assert nodes[inner["id"]]["encapsulating"] == [{"id": wrapper["id"]}] and nodes[inner["id"]]["parents"] == []
    assert set(graph["root_node_ids"]) == {first["id"], wrapper["id"], inner["id"], child["id"]}
    assert [a["id"] for a in nodes[first["id"]]["artifacts"]] == [artifact["id"]]
    assert (
        nodes[first["id"]]["artifacts"][0]["is_latest"] is True and nodes[first["id"]]["artifacts"][0]["data"] is None
    )
    # The run's own artifacts (no task run), results left out; progress carries its data.
    assert [(a["id"], a["data"]) for a in graph["artifacts"]] == [(progress["id"], 50.0)]
    assert [s["type"] for s in graph["states"]] == ["PENDING", "RUNNING"]
    assert graph["start_time"] is not None and graph["end_time"] is None
    # Ordered by start time, as the reference.
    starts = [node["start_time"] for _, node in graph["nodes"]]
    assert starts == sorted(starts)

    v1 = client.get(f"/flow_runs/{run['id']}/graph").json()
    by_id = {row["id"]: row for row in v1}
    assert set(by_id) == {first["id"], second["id"], wrapper["id"], inner["id"], sub_task["id"]}
    assert by_id[second["id"]]["upstream_dependencies"] == [{"input_type": "task_run", "id": first["id"]}]
    assert by_id[first["id"]]["state"]["type"] == "COMPLETED" and by_id[first["id"]]["untrackable_result"] is False


def test_graph_of_a_missing_run_is_a_404(client: httpx.Client) -> None:
    assert client.get(f"/flow_runs/{uuid.uuid4()}/graph-v2").status_code == 404
    assert client.get(f"/flow_runs/{uuid.uuid4()}/graph").status_code == 404
    assert client.get("/flow_runs/not-a-uuid/graph-v2").status_code == 404
