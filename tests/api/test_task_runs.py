"""Task runs over HTTP against the local stack: create/upsert, read, update, delete, filter, set_state."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import httpx

from shared.storage import task_runs as task_run_store
from shared.storage.keys import sharded
from tests.aws_env import AWS_ENV, emulator_client
from tests.support.events import recorded, task_run_event


def _create(client: httpx.Client, flow_run_id: str | None, **extra: Any) -> httpx.Response:
    body = {"flow_run_id": flow_run_id, "task_key": "task-key", "dynamic_key": "0", **extra}
    return client.post("/task_runs/", json=body)


def test_create_is_an_upsert_on_the_natural_key(client: httpx.Client, flow_run: dict[str, Any]) -> None:
    first = _create(client, flow_run["id"], name="child-0")
    assert first.status_code == 201
    run = first.json()
    assert run["state_type"] == "PENDING" and run["state"]["type"] == "PENDING"
    assert run["labels"]["prefect.flow-run.id"] == flow_run["id"]
    assert run["state"]["state_details"]["task_run_id"] == run["id"]

    again = _create(client, flow_run["id"], name="another-name")
    assert again.status_code == 200
    assert again.json()["id"] == run["id"] and again.json()["name"] == "child-0"

    other = _create(client, flow_run["id"], dynamic_key="1")
    assert other.status_code == 201 and other.json()["id"] != run["id"]


def test_create_with_state_and_client_id(client: httpx.Client, flow_run: dict[str, Any]) -> None:
    chosen = str(uuid.uuid4())
    response = _create(client, flow_run["id"], id=chosen, task_key="k2", state={"type": "RUNNING"})
    assert response.status_code == 201
    run = response.json()
    assert run["id"] == chosen and run["state_type"] == "RUNNING" and run["run_count"] == 1
    assert run["start_time"] is not None


def test_create_without_flow_run_upserts_too(client: httpx.Client) -> None:
    key = f"bg-{uuid.uuid4().hex[:6]}"
    first = _create(client, None, task_key=key)
    second = _create(client, None, task_key=key)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"] and first.json()["flow_run_id"] is None


def test_read_update_delete(client: httpx.Client, flow_run: dict[str, Any]) -> None:
    run = _create(client, flow_run["id"]).json()
    assert client.get(f"/task_runs/{run['id']}").json() == run

    assert client.patch(f"/task_runs/{run['id']}", json={"name": "renamed"}).status_code == 204
    assert client.get(f"/task_runs/{run['id']}").json()["name"] == "renamed"

    assert client.delete(f"/task_runs/{run['id']}").status_code == 204
    assert client.get(f"/task_runs/{run['id']}").json() == {"detail": "Task not found"}
    assert client.get("/task_run_states/", params={"task_run_id": run["id"]}).json() == []
    # The natural key is free again after a delete.
    assert _create(client, flow_run["id"]).status_code == 201


def _logs(client: httpx.Client, **run_filter: Any) -> list[str]:
    [(field, value)] = run_filter.items()
    response = client.post("/logs/filter", json={"logs": {field: {"any_": [value]}}})
    assert response.status_code == 200, response.text
    return sorted(log["message"] for log in response.json())


def test_delete_deletes_its_logs_and_only_its_logs(client: httpx.Client, flow_run: dict[str, Any]) -> None:
    # A task run of the flow run (its logs sit in the flow run's partition), a sibling, and a
    # background task run without a flow run (its logs sit in partitions of their own).
    doomed, sibling = _create(client, flow_run["id"]).json(), _create(client, flow_run["id"], task_key="s").json()
    background = _create(client, None, task_key=f"bg-{uuid.uuid4().hex[:6]}").json()
    now = datetime.datetime.now(datetime.UTC).isoformat()
    logs = [
        {"name": "t", "level": 20, "message": message, "timestamp": now, "flow_run_id": fr, "task_run_id": tr}
        for message, fr, tr in [
            ("doomed-1", flow_run["id"], doomed["id"]),
            ("doomed-2", flow_run["id"], doomed["id"]),
            ("sibling", flow_run["id"], sibling["id"]),
            ("flow", flow_run["id"], None),
            ("background", None, background["id"]),
        ]
    ]
    assert client.post("/logs/", json=logs).status_code == 201
    assert _logs(client, task_run_id=doomed["id"]) == ["doomed-1", "doomed-2"]

    assert client.delete(f"/task_runs/{doomed['id']}").status_code == 204
    assert client.delete(f"/task_runs/{background['id']}").status_code == 204
    assert _logs(client, task_run_id=doomed["id"]) == []
    assert _logs(client, task_run_id=background["id"]) == []
    assert _logs(client, flow_run_id=flow_run["id"]) == ["flow", "sibling"]


def test_missing_runs_answer_like_the_reference(client: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    read = client.get(f"/task_runs/{missing}")
    assert (read.status_code, read.json()) == (404, {"detail": "Task not found"})
    patch = client.patch(f"/task_runs/{missing}", json={"name": "x"})
    assert (patch.status_code, patch.json()) == (404, {"detail": "Task run not found"})
    assert client.delete(f"/task_runs/{missing}").status_code == 404
    state = client.post(f"/task_runs/{missing}/set_state", json={"state": {"type": "RUNNING"}})
    assert state.status_code == 404
    assert state.json() == {"exception_message": f"Task run with id {missing} not found"}
    assert client.get(f"/task_run_states/{missing}").json() == {"detail": "Flow run state not found"}
    assert client.get("/task_runs/not-a-uuid").status_code == 404


def test_bad_input_is_a_prefect_shaped_422(client: httpx.Client) -> None:
    bad_type = client.post("/task_runs/", json={"task_key": 1, "dynamic_key": "0"})
    assert bad_type.status_code == 422
    assert bad_type.json()["exception_message"] == "Invalid request received."
    unknown = client.post("/task_runs/", json={"task_key": "k", "dynamic_key": "0", "nope": 1})
    assert unknown.status_code == 422
    malformed = client.post("/task_runs/", content=b"{not json", headers={"content-type": "application/json"})
    assert malformed.status_code == 422
    assert client.post("/task_runs/filter", json={"limit": 201}).status_code == 422
    assert client.post("/task_runs/filter", json={"task_runs": {"bogus": {}}}).status_code == 422
    assert client.post("/task_runs/filter", json={"sort": "SIDEWAYS"}).status_code == 422


def test_set_state_runs_the_task_policy(client: httpx.Client, flow_run: dict[str, Any]) -> None:
    run = _create(client, flow_run["id"]).json()
    running = client.post(f"/task_runs/{run['id']}/set_state", json={"state": {"type": "RUNNING"}})
    assert running.status_code == 201
    assert running.json()["status"] == "ACCEPT" and running.json()["state"]["type"] == "RUNNING"
    done = client.post(f"/task_runs/{run['id']}/set_state", json={"state": {"type": "COMPLETED"}})
    assert done.json()["status"] == "ACCEPT"
    stored = client.get(f"/task_runs/{run['id']}").json()
    assert stored["state_type"] == "COMPLETED" and stored["run_count"] == 1 and stored["end_time"]

    # Terminal: a completed task cannot crash (200, no new state) unless forced.
    again = client.post(f"/task_runs/{run['id']}/set_state", json={"state": {"type": "CRASHED"}})
    assert again.status_code == 200 and again.json()["status"] == "ABORT"
    assert again.json()["details"]["reason"] == "Run is already COMPLETED."
    forced = client.post(f"/task_runs/{run['id']}/set_state", json={"state": {"type": "CRASHED"}, "force": True})
    assert forced.status_code == 201 and forced.json()["status"] == "ACCEPT"

    states = client.get("/task_run_states/", params={"task_run_id": run["id"]}).json()
    assert [s["type"] for s in states] == ["PENDING", "RUNNING", "COMPLETED", "CRASHED"]
    one = client.get(f"/task_run_states/{states[1]['id']}")
    assert one.status_code == 200 and one.json() == states[1]


def test_set_state_aborts_when_the_flow_is_not_running(client: httpx.Client) -> None:
    flow = client.post("/flows/", json={"name": f"tr-flow-{uuid.uuid4().hex[:8]}"}).json()
    pending_run = client.post("/flow_runs/", json={"flow_id": flow["id"]}).json()
    run = _create(client, pending_run["id"]).json()
    response = client.post(f"/task_runs/{run['id']}/set_state", json={"state": {"type": "RUNNING"}})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ABORT"
    assert body["details"] == {
        "type": "abort_details",
        "reason": "The enclosing flow must be running to begin task execution.",
    }
    assert client.get(f"/task_runs/{run['id']}").json()["state_type"] == "PENDING"


def test_filter_count_paginate(client: httpx.Client, flow_run: dict[str, Any]) -> None:
    ids = [_create(client, flow_run["id"], dynamic_key=str(i), name=f"t-{i}").json()["id"] for i in range(3)]
    client.post(f"/task_runs/{ids[0]}/set_state", json={"state": {"type": "RUNNING"}})

    by_flow_run = {"task_runs": {"flow_run_id": {"any_": [flow_run["id"]]}}}
    listed = client.post("/task_runs/filter", json=by_flow_run).json()
    assert [r["id"] for r in listed] == sorted(ids, reverse=True)  # ID_DESC
    assert client.post("/task_runs/count", json=by_flow_run).json() == 3

    joined = {"flow_runs": {"id": {"any_": [flow_run["id"]]}}}
    assert client.post("/task_runs/count", json=joined).json() == 3
    via_flow = {"flows": {"id": {"any_": [flow_run["flow_id"]]}}}
    assert client.post("/task_runs/count", json=via_flow).json() == 3

    running = {**by_flow_run["task_runs"], "state": {"type": {"any_": ["RUNNING"]}}}
    assert [r["id"] for r in client.post("/task_runs/filter", json={"task_runs": running}).json()] == [ids[0]]
    by_state_only = client.post(
        "/task_runs/filter", json={"task_runs": {"state": {"type": {"any_": ["RUNNING"]}}}}
    ).json()
    assert ids[0] in [r["id"] for r in by_state_only]
    by_id = client.post("/task_runs/filter", json={"task_runs": {"id": {"any_": [ids[1]]}}}).json()
    assert [r["id"] for r in by_id] == [ids[1]]

    named = client.post("/task_runs/filter", json={**by_flow_run, "sort": "NAME_ASC", "offset": 1, "limit": 1}).json()
    assert [r["name"] for r in named] == ["t-1"]

    page = client.post("/task_runs/paginate", json={**by_flow_run, "limit": 2, "page": 2}).json()
    assert (page["count"], page["pages"], page["page"], page["limit"]) == (3, 2, 2, 2)
    assert [r["id"] for r in page["results"]] == [sorted(ids, reverse=True)[2]]

    nothing = {"flow_runs": {"id": {"any_": [str(uuid.uuid4())]}}}
    assert client.post("/task_runs/filter", json=nothing).json() == []


def test_subflow_parent_task_follows_the_subflow(client: httpx.Client, flow_run: dict[str, Any]) -> None:
    parent_task = _create(client, flow_run["id"], task_key="child", name="child-0").json()
    child = client.post(
        "/flow_runs/",
        json={"flow_id": flow_run["flow_id"], "parent_task_run_id": parent_task["id"]},
    ).json()
    for state in ("RUNNING", "COMPLETED"):
        assert (
            client.post(f"/flow_runs/{child['id']}/set_state", json={"state": {"type": state}}).json()["status"]
            == "ACCEPT"
        )
    parent = client.get(f"/task_runs/{parent_task['id']}").json()
    assert parent["state_type"] == "COMPLETED"
    assert parent["state"]["state_details"]["child_flow_run_id"] == child["id"]
    found = client.post(
        "/task_runs/filter",
        json={"task_runs": {"flow_run_id": {"any_": [flow_run["id"]]}, "subflow_runs": {"exists_": True}}},
    ).json()
    assert [r["id"] for r in found] == [parent_task["id"]]


def _old_layout(aws_endpoint_url: str, task_run_id: str, *, unsharded: bool = False) -> None:
    """Give a stored run the index keys runs had before a started terminal run got its one copy: a by-state key
    whatever the state, TASK_RUNS_STARTED#TERMINAL for a started terminal run; `unsharded`: from before the keys
    were sharded too (TASK_RUNS_IN#<state>, ...#ACTIVE|TERMINAL, and an all-runs copy, TASK_RUNS)."""
    item = _stored(aws_endpoint_url, task_run_id)
    # The state type, from the keys (the body may be stored compressed): a started terminal run's started key.
    started = item["GSI4PK"]["S"].split("#")[1] if "GSI4PK" in item else None
    state_type = item["GSI3PK"]["S"].split("#")[1] if "GSI3PK" in item else started
    keys = {"GSI3PK": sharded(f"TASK_RUNS_IN#{state_type}", task_run_id, task_run_store.STATE_SHARDS)}
    keys["GSI3SK"] = task_run_id
    if started is not None:
        kind, shards = (
            ("ACTIVE", task_run_store.ACTIVE_SHARDS)
            if started == "ACTIVE"
            else ("TERMINAL", task_run_store.TERMINAL_SHARDS)
        )
        keys["GSI4PK"] = sharded(f"TASK_RUNS_STARTED#{kind}", task_run_id, shards)
    if unsharded:
        keys = {name: value.rsplit("#", 1)[0] if name.endswith("PK") else value for name, value in keys.items()}
        keys |= {"GSI2PK": "TASK_RUNS", "GSI2SK": task_run_id}  # every run had an all-runs copy then
    dynamodb = emulator_client("dynamodb", aws_endpoint_url)
    item |= {name: {"S": value} for name, value in keys.items()}
    dynamodb.put_item(TableName=AWS_ENV["SERVERFLOW_TABLE"], Item=item)


def _stored(aws_endpoint_url: str, task_run_id: str) -> dict[str, Any]:
    dynamodb = emulator_client("dynamodb", aws_endpoint_url)
    key = {"PK": {"S": f"TASK_RUN#{task_run_id}"}, "SK": {"S": "#META"}}
    item: dict[str, Any] = dynamodb.get_item(TableName=AWS_ENV["SERVERFLOW_TABLE"], Key=key)["Item"]
    return item


def test_all_runs_are_listed_through_their_state_keys_and_runs_stored_with_an_all_runs_copy_once(
    client: httpx.Client, flow_run: dict[str, Any], aws_endpoint_url: str
) -> None:
    """A run with a state writes no all-runs copy (GSI2): a filter without a narrower hint lists it through its
    state's key; a run stored before, with its all-runs copy, is listed once, and its next write drops the copy."""
    tag = f"all-{uuid.uuid4().hex[:8]}"
    states = ["PENDING", "RUNNING", "COMPLETED", "FAILED"]
    ids = [
        _create(client, flow_run["id"], dynamic_key=f"{tag}-{i}", tags=[tag], state={"type": state}).json()["id"]
        for i, state in enumerate(states)
    ]
    assert all("GSI2PK" not in _stored(aws_endpoint_url, run_id) for run_id in ids)
    tagged = {"task_runs": {"tags": {"all_": [tag]}}}  # no index hint: every run is read
    newest_first = sorted(ids, reverse=True)
    assert [r["id"] for r in client.post("/task_runs/filter", json=tagged).json()] == newest_first
    assert client.post("/task_runs/count", json=tagged).json() == 4

    dynamodb = emulator_client("dynamodb", aws_endpoint_url)
    before = _stored(aws_endpoint_url, ids[1])  # as stored before: with its (sharded) all-runs copy
    before |= {"GSI2PK": {"S": "TASK_RUNS#0"}, "GSI2SK": {"S": ids[1]}}
    dynamodb.put_item(TableName=AWS_ENV["SERVERFLOW_TABLE"], Item=before)
    assert [r["id"] for r in client.post("/task_runs/filter", json=tagged).json()] == newest_first
    assert client.post("/task_runs/count", json=tagged).json() == 4
    assert client.post(f"/task_runs/{ids[1]}/set_state", json={"state": {"type": "COMPLETED"}}).status_code == 201
    assert "GSI2PK" not in _stored(aws_endpoint_url, ids[1])
    listed = client.post("/task_runs/filter", json=tagged).json()
    assert [(r["id"], r["state_type"]) for r in listed] == [
        (run_id, "COMPLETED" if run_id == ids[1] else states[ids.index(run_id)]) for run_id in newest_first
    ]


def test_sharded_indexes_list_in_order_and_still_read_runs_stored_unsharded(
    client: httpx.Client, flow_run: dict[str, Any], aws_endpoint_url: str
) -> None:
    """The all-runs / by-state / started indexes are read from every shard (and from the keys of
    runs stored before the sharding) as one list: order, offset/limit and counts as one partition."""
    tag = f"shards-{uuid.uuid4().hex[:8]}"
    window = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)).isoformat()
    ids = [
        _create(client, flow_run["id"], dynamic_key=str(i), tags=[tag], state={"type": "RUNNING"}).json()["id"]
        for i in range(6)
    ]
    for done in ids[:3]:
        assert client.post(f"/task_runs/{done}/set_state", json={"state": {"type": "COMPLETED"}}).status_code == 201
    _old_layout(aws_endpoint_url, ids[0], unsharded=True)  # TASK_RUNS / TASK_RUNS_IN#COMPLETED / ...#TERMINAL
    _old_layout(aws_endpoint_url, ids[3], unsharded=True)  # TASK_RUNS / TASK_RUNS_IN#RUNNING / ...#ACTIVE

    tagged = {"tags": {"all_": [tag]}}
    newest_first = sorted(ids, reverse=True)
    listed = client.post("/task_runs/filter", json={"task_runs": tagged}).json()  # the all-runs index
    assert [r["id"] for r in listed] == newest_first
    page = client.post("/task_runs/filter", json={"task_runs": tagged, "offset": 2, "limit": 3}).json()
    assert [r["id"] for r in page] == newest_first[2:5]
    assert client.post("/task_runs/count", json={"task_runs": tagged}).json() == 6

    completed = {**tagged, "state": {"type": {"any_": ["COMPLETED", "RUNNING"]}}}  # the by-state index
    by_state = client.post("/task_runs/filter", json={"task_runs": completed, "sort": "ID_DESC"}).json()
    assert [r["id"] for r in by_state] == newest_first
    counts = client.post("/ui/task_runs/count", json={"task_runs": {**tagged, "start_time": {"after_": window}}})
    assert {k: v for k, v in counts.json().items() if v} == {"COMPLETED": 3, "RUNNING": 3}  # the started index

    # The legacy run's next write moves it to its shard; it is still listed once.
    assert client.post(f"/task_runs/{ids[3]}/set_state", json={"state": {"type": "COMPLETED"}}).status_code == 201
    counts = client.post("/ui/task_runs/count", json={"task_runs": {**tagged, "start_time": {"after_": window}}})
    assert {k: v for k, v in counts.json().items() if v} == {"COMPLETED": 4, "RUNNING": 2}
    assert [r["id"] for r in client.post("/task_runs/filter", json={"task_runs": tagged}).json()] == newest_first


def test_a_started_terminal_run_has_one_index_copy_that_every_reader_finds(
    client: httpx.Client, flow_run: dict[str, Any], aws_endpoint_url: str
) -> None:
    """A run that ended after it started is indexed once, under its terminal type's started key (no by-state copy):
    the by-state, start-time window (with and without a state hint) and unfiltered reads, the counts, the history
    and the dashboard find it; so they do a run stored before, under its by-state key and the started TERMINAL
    key, until its next write moves it."""
    tag = f"ended-{uuid.uuid4().hex[:8]}"
    now = datetime.datetime.now(datetime.UTC)
    window = {"start_time": {"after_": (now - datetime.timedelta(minutes=5)).isoformat()}}

    def make(name: str, first: str, final: str | None = None) -> str:
        created = _create(client, flow_run["id"], dynamic_key=f"{tag}-{name}", tags=[tag], state={"type": first})
        run_id: str = created.json()["id"]
        if final is not None:
            assert client.post(f"/task_runs/{run_id}/set_state", json={"state": {"type": final}}).status_code == 201
        return run_id

    done, legacy = make("done", "RUNNING", "COMPLETED"), make("old", "RUNNING", "COMPLETED")
    failed, running = make("failed", "RUNNING", "FAILED"), make("running", "RUNNING")
    # A run that ended without starting (a cached task: the client reports it COMPLETED, no start_time; a REST
    # state change gives an ended run a start_time) keeps its by-state key.
    unstarted = str(uuid.uuid4())
    cached = task_run_event(unstarted, flow_run["id"], "COMPLETED", now, task_key=tag, dynamic_key="cached")
    cached["payload"]["task_run"]["tags"] = [tag]
    assert client.post("/events", json=[cached]).status_code == 204
    recorded(client)
    keys = {run_id: _stored(aws_endpoint_url, run_id) for run_id in (done, failed, running, unstarted)}
    assert keys[done]["GSI4PK"]["S"].startswith("TASK_RUNS_STARTED#COMPLETED#") and "GSI3PK" not in keys[done]
    assert keys[failed]["GSI4PK"]["S"].startswith("TASK_RUNS_STARTED#FAILED#") and "GSI3PK" not in keys[failed]
    assert keys[running]["GSI4PK"]["S"].startswith("TASK_RUNS_STARTED#ACTIVE#") and "GSI3PK" in keys[running]
    assert keys[unstarted]["GSI3PK"]["S"].startswith("TASK_RUNS_IN#COMPLETED#") and "GSI4PK" not in keys[unstarted]
    _old_layout(aws_endpoint_url, legacy)  # TASK_RUNS_IN#COMPLETED#<n> and TASK_RUNS_STARTED#TERMINAL#<n>

    def found(**task_runs: Any) -> list[str]:
        response = client.post("/task_runs/filter", json={"task_runs": {"tags": {"all_": [tag]}, **task_runs}})
        return sorted(r["id"] for r in response.json())

    def of_type(*types: str) -> dict[str, Any]:
        return {"state": {"type": {"any_": list(types)}}}

    for _ in range(2):  # as stored before, then after the legacy run's next write moved it to its type's key
        assert found(**of_type("COMPLETED")) == sorted([done, legacy, unstarted])
        assert found(**of_type("FAILED", "RUNNING")) == sorted([failed, running])
        assert found(**window) == sorted([done, failed, legacy, running])
        assert found(**window, **of_type("COMPLETED")) == sorted([done, legacy])
        assert found(**window, **of_type("FAILED", "RUNNING")) == sorted([failed, running])
        assert found() == sorted([done, failed, legacy, running, unstarted])
        tagged = {"tags": {"all_": [tag]}}
        assert client.post("/task_runs/count", json={"task_runs": tagged}).json() == 5
        assert client.post("/task_runs/count", json={"task_runs": {**tagged, **of_type("COMPLETED")}}).json() == 3
        counts = client.post("/ui/task_runs/count", json={"task_runs": {**tagged, **window}}).json()
        assert {k: v for k, v in counts.items() if v} == {"COMPLETED": 2, "FAILED": 1, "RUNNING": 1}
        buckets = client.post("/ui/task_runs/dashboard/counts", json={"task_runs": {**tagged, **window}}).json()
        assert (sum(b["completed"] for b in buckets), sum(b["failed"] for b in buckets)) == (2, 1)
        history = client.post(
            "/task_runs/history",
            json={
                "history_start": window["start_time"]["after_"],
                "history_end": (now + datetime.timedelta(minutes=5)).isoformat(),
                "history_interval_seconds": 60,
                "task_runs": tagged,
            },
        ).json()
        by_state: dict[str, int] = {}
        for bucket in history:
            for state in bucket["states"]:
                by_state[state["state_type"]] = by_state.get(state["state_type"], 0) + state["count_runs"]
        assert by_state == {"COMPLETED": 3, "FAILED": 1, "RUNNING": 1}

        assert client.patch(f"/task_runs/{legacy}", json={"name": "moved"}).status_code == 204
        moved = _stored(aws_endpoint_url, legacy)
        assert moved["GSI4PK"]["S"].startswith("TASK_RUNS_STARTED#COMPLETED#") and "GSI3PK" not in moved
