"""Flow runs over HTTP against the local stack: CRUD, idempotency, labels, filters, sorts, pages."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.support.api import make_flow, make_run


def filter_ids(client: httpx.Client, body: dict[str, Any]) -> list[str]:
    response = client.post("/flow_runs/filter", json=body)
    assert response.status_code == 200, response.text
    return [run["id"] for run in response.json()]


# --- create / read -----------------------------------------------------------------


def test_create_defaults_to_pending_and_reads_back(client: httpx.Client) -> None:
    flow = make_flow(client, labels={"team": "data"})
    run = make_run(client, flow["id"], name="my-run", parameters={"x": 1}, tags=["a"])
    assert run["state_type"] == "PENDING" and run["state_name"] == "Pending"
    assert run["state"]["type"] == "PENDING" and run["state_id"] == run["state"]["id"]
    assert run["name"] == "my-run" and run["parameters"] == {"x": 1} and run["tags"] == ["a"]
    # The flow's labels, then the system label (as the reference).
    assert run["labels"] == {"team": "data", "prefect.flow.id": flow["id"]}
    assert run["run_count"] == 0 and run["total_run_time"] == 0.0
    fetched = client.get(f"/flow_runs/{run['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["state_id"] == run["state_id"]
    assert fetched.json()["created"] == run["created"]


def test_create_with_scheduled_state_sets_schedule_fields(client: httpx.Client) -> None:
    flow = make_flow(client)
    when = "2031-01-01T00:00:00Z"
    run = make_run(client, flow["id"], state={"type": "SCHEDULED", "state_details": {"scheduled_time": when}})
    assert run["state_type"] == "SCHEDULED"
    assert run["next_scheduled_start_time"] == when
    assert run["expected_start_time"] == when


def test_create_generates_a_name(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"])
    assert run["name"] and "-" in run["name"]


def test_idempotency_key_returns_existing_run_with_200(client: httpx.Client) -> None:
    flow = make_flow(client)
    first = make_run(client, flow["id"], idempotency_key="once")
    again = client.post("/flow_runs/", json={"flow_id": flow["id"], "idempotency_key": "once", "name": "other"})
    assert again.status_code == 200
    assert again.json()["id"] == first["id"] and again.json()["name"] == first["name"]
    # The key is unique per flow only.
    other_flow = make_flow(client)
    assert make_run(client, other_flow["id"], idempotency_key="once")["id"] != first["id"]


def test_concurrent_creates_with_one_idempotency_key_make_one_run(client: httpx.Client, api_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    flow = make_flow(client)

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=api_url, timeout=30) as http:
            return http.post("/flow_runs/", json={"flow_id": flow["id"], "idempotency_key": "race"})

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(post, range(8)))
    assert sorted(r.status_code for r in responses).count(201) == 1
    assert {r.status_code for r in responses} <= {200, 201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert client.post("/flow_runs/count", json={"flows": {"id": {"any_": [flow["id"]]}}}).json() == 1


# --- update / labels / delete --------------------------------------------------------


def test_patch_updates_only_given_fields(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"], name="before", tags=["keep"], parameters={"a": 1})
    response = client.patch(f"/flow_runs/{run['id']}", json={"name": "after", "infrastructure_pid": "123"})
    assert response.status_code == 204 and response.content == b""
    fetched = client.get(f"/flow_runs/{run['id']}").json()
    assert fetched["name"] == "after" and fetched["infrastructure_pid"] == "123"
    assert fetched["tags"] == ["keep"] and fetched["parameters"] == {"a": 1}
    assert fetched["state_id"] == run["state_id"]


def test_patch_job_variables_needs_a_scheduled_deployment_run(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"])
    response = client.patch(f"/flow_runs/{run['id']}", json={"job_variables": {"a": 1}})
    assert response.status_code == 400
    assert response.json()["detail"] == "Job variables for a flow run in state PENDING cannot be updated"


def test_labels_patch_merges(client: httpx.Client) -> None:
    flow = make_flow(client)
    run = make_run(client, flow["id"], labels={"a": "1", "b": "2"})
    assert client.patch(f"/flow_runs/{run['id']}/labels", json={"b": "3", "c": "4"}).status_code == 204
    labels = client.get(f"/flow_runs/{run['id']}").json()["labels"]
    assert labels == {"prefect.flow.id": flow["id"], "a": "1", "b": "3", "c": "4"}


def test_delete_removes_run_and_history(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"], idempotency_key="del")
    state_id = run["state_id"]
    assert client.delete(f"/flow_runs/{run['id']}").status_code == 204
    assert client.get(f"/flow_runs/{run['id']}").status_code == 404
    assert client.get("/flow_run_states/", params={"flow_run_id": run["id"]}).json() == []
    assert client.delete(f"/flow_runs/{run['id']}").json() == {"detail": "Flow run not found"}
    # The idempotency key is free again.
    assert client.post("/flow_runs/", json={"flow_id": run["flow_id"], "idempotency_key": "del"}).status_code == 201
    assert state_id  # history items went with the run (GET by id may lag on the GSI)


def test_deleting_the_flow_deletes_its_runs(client: httpx.Client) -> None:
    flow = make_flow(client)
    runs = [make_run(client, flow["id"]) for _ in range(3)]
    assert client.delete(f"/flows/{flow['id']}").status_code == 204
    for run in runs:
        assert client.get(f"/flow_runs/{run['id']}").status_code == 404


def test_deleting_a_run_or_its_flow_deletes_its_task_runs_and_logs(client: httpx.Client) -> None:
    """The cascade the reference's foreign keys (and queued log deletion) do, through the
    run lifecycle: a renamed repository function fails here instead of going silent."""
    flow = make_flow(client)
    runs = [make_run(client, flow["id"]) for _ in range(2)]
    task_ids = []
    for run in runs:
        task = client.post("/task_runs/", json={"flow_run_id": run["id"], "task_key": "t", "dynamic_key": "0"})
        assert task.status_code == 201
        task_ids.append(task.json()["id"])
        log = {"name": "n", "level": 20, "message": "m", "timestamp": "2026-01-01T00:00:00Z", "flow_run_id": run["id"]}
        assert client.post("/logs/", json=[log]).status_code == 201

    def logs_of(run_id: str) -> list[Any]:
        response = client.post("/logs/filter", json={"logs": {"flow_run_id": {"any_": [run_id]}}})
        assert response.status_code == 200
        return response.json()

    assert all(logs_of(run["id"]) for run in runs)
    assert client.delete(f"/flow_runs/{runs[0]['id']}").status_code == 204  # one run
    assert client.delete(f"/flows/{flow['id']}").status_code == 204  # the other, with its flow
    for run, task_id in zip(runs, task_ids, strict=True):
        assert client.get(f"/task_runs/{task_id}").status_code == 404
        assert logs_of(run["id"]) == []


# --- flow_run_states -----------------------------------------------------------------


def test_state_history_and_state_by_id(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"], state={"type": "SCHEDULED"})
    client.post(f"/flow_runs/{run['id']}/set_state", json={"state": {"type": "PENDING"}})
    client.post(f"/flow_runs/{run['id']}/set_state", json={"state": {"type": "RUNNING"}})
    history = client.get("/flow_run_states/", params={"flow_run_id": run["id"]})
    assert history.status_code == 200
    assert [s["type"] for s in history.json()] == ["SCHEDULED", "PENDING", "RUNNING"]
    one = client.get(f"/flow_run_states/{history.json()[1]['id']}")
    assert one.status_code == 200 and one.json()["type"] == "PENDING"
    missing = client.get(f"/flow_run_states/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json() == {"detail": "Flow run state not found"}
    assert client.get("/flow_run_states/", params={"flow_run_id": str(uuid.uuid4())}).json() == []
    assert client.get("/flow_run_states/").status_code == 422


# --- filter / count / paginate ---------------------------------------------------------


@pytest.fixture
def population(client: httpx.Client) -> dict[str, Any]:
    """Two flows; runs with distinct names, tags, states and schedules."""
    marker = uuid.uuid4().hex[:8]
    flow_a, flow_b = make_flow(client, tags=[f"ft-{marker}"]), make_flow(client)
    runs = {
        "a1": make_run(
            client,
            flow_a["id"],
            name=f"{marker}-alpha",
            tags=[marker, "x"],
            state={"type": "SCHEDULED", "state_details": {"scheduled_time": "2031-01-03T00:00:00Z"}},
        ),
        "a2": make_run(
            client,
            flow_a["id"],
            name=f"{marker}-bravo",
            tags=[marker],
            state={"type": "SCHEDULED", "state_details": {"scheduled_time": "2031-01-01T00:00:00Z"}},
        ),
        "b1": make_run(client, flow_b["id"], name=f"{marker}-charlie", tags=[marker, "x"]),
    }
    return {"marker": marker, "flow_a": flow_a, "flow_b": flow_b, "runs": runs}


def test_filter_by_ids_flow_and_tags(client: httpx.Client, population: dict[str, Any]) -> None:
    runs, marker = population["runs"], population["marker"]
    all_ids = [r["id"] for r in runs.values()]
    # Default sort: ID_DESC (ids are time-ordered: the newest first).
    assert filter_ids(client, {"flow_runs": {"id": {"any_": all_ids}}}) == sorted(all_ids, reverse=True)
    assert set(filter_ids(client, {"flows": {"id": {"any_": [population["flow_a"]["id"]]}}})) == {
        runs["a1"]["id"],
        runs["a2"]["id"],
    }
    assert set(filter_ids(client, {"flows": {"tags": {"all_": [f"ft-{marker}"]}}})) == {
        runs["a1"]["id"],
        runs["a2"]["id"],
    }
    assert set(filter_ids(client, {"flow_runs": {"tags": {"all_": [marker, "x"]}}})) == {
        runs["a1"]["id"],
        runs["b1"]["id"],
    }
    assert filter_ids(client, {"flow_runs": {"name": {"like_": f"{marker}-char"}}}) == [runs["b1"]["id"]]


def test_filter_by_state_and_sorts(client: httpx.Client, population: dict[str, Any]) -> None:
    runs, marker = population["runs"], population["marker"]
    body = {"flow_runs": {"tags": {"all_": [marker]}, "state": {"type": {"any_": ["SCHEDULED"]}}}}
    scheduled = filter_ids(client, {**body, "sort": "NEXT_SCHEDULED_START_TIME_ASC"})
    assert scheduled == [runs["a2"]["id"], runs["a1"]["id"]]
    assert filter_ids(client, {**body, "sort": "EXPECTED_START_TIME_DESC"}) == [runs["a1"]["id"], runs["a2"]["id"]]
    pending = {"flow_runs": {"tags": {"all_": [marker]}, "state": {"name": {"any_": ["Pending"]}}}}
    assert filter_ids(client, pending) == [runs["b1"]["id"]]
    names = filter_ids(client, {"flow_runs": {"tags": {"all_": [marker]}}, "sort": "NAME_DESC"})
    assert names == [runs["b1"]["id"], runs["a2"]["id"], runs["a1"]["id"]]


def test_limit_offset_count_and_paginate(client: httpx.Client, population: dict[str, Any]) -> None:
    marker = population["marker"]
    scope = {"flow_runs": {"tags": {"all_": [marker]}}}
    everything = filter_ids(client, {**scope, "sort": "NAME_ASC"})
    assert len(everything) == 3
    assert filter_ids(client, {**scope, "sort": "NAME_ASC", "limit": 1, "offset": 1}) == everything[1:2]
    assert filter_ids(client, {**scope, "limit": 0}) == []
    assert client.post("/flow_runs/count", json=scope).json() == 3
    page = client.post("/flow_runs/paginate", json={**scope, "sort": "NAME_ASC", "limit": 2, "page": 2})
    assert page.status_code == 200
    body = page.json()
    assert [r["id"] for r in body["results"]] == everything[2:]
    assert (body["count"], body["limit"], body["pages"], body["page"]) == (3, 2, 2, 2)


def test_filter_by_parent_task_run_id_as_the_client_does(client: httpx.Client) -> None:
    flow = make_flow(client)
    parent_run = make_run(client, flow["id"])
    task = client.post(
        "/task_runs/",
        json={"flow_run_id": parent_run["id"], "task_key": "child", "dynamic_key": "0", "name": "child-0"},
    )
    assert task.status_code in (200, 201), task.text
    child = make_run(client, flow["id"], parent_task_run_id=task.json()["id"])
    body = {"flow_runs": {"parent_task_run_id": {"operator": "and_", "any_": [task.json()["id"]]}}, "limit": 1}
    assert filter_ids(client, body) == [child["id"]]
    by_parent_flow = {"flow_runs": {"parent_flow_run_id": {"any_": [parent_run["id"]]}}}
    assert filter_ids(client, by_parent_flow) == [child["id"]]


def test_joined_filters_without_matching_objects_select_nothing(
    client: httpx.Client, population: dict[str, Any]
) -> None:
    scope = {"flow_runs": {"tags": {"all_": [population["marker"]]}}}
    assert filter_ids(client, {**scope, "flows": {"name": {"any_": ["no-such-flow"]}}}) == []
    assert filter_ids(client, {**scope, "deployments": {"id": {"any_": [str(uuid.uuid4())]}}}) == []
    assert filter_ids(client, {**scope, "work_pools": {"name": {"any_": ["nope"]}}}) == []


def test_history_and_lateness(client: httpx.Client, population: dict[str, Any]) -> None:
    scope = {"flow_runs": {"tags": {"all_": [population["marker"]]}}}
    history = client.post(
        "/flow_runs/history",
        json={
            **scope,
            "history_start": "2031-01-01T00:00:00Z",
            "history_end": "2031-01-05T00:00:00Z",
            "history_interval_seconds": 86400,
        },
    )
    assert history.status_code == 200
    buckets = history.json()
    assert len(buckets) == 4
    assert [sum(s["count_runs"] for s in b["states"]) for b in buckets] == [1, 0, 1, 0]
    assert buckets[0]["states"][0]["state_type"] == "SCHEDULED"
    too_small = client.post(
        "/flow_runs/history",
        json={
            "history_start": "2031-01-01T00:00:00Z",
            "history_end": "2031-01-05T00:00:00Z",
            "history_interval_seconds": 0.5,
        },
    )
    assert too_small.status_code == 422
    lateness = client.post("/flow_runs/lateness", json=scope)
    assert lateness.status_code == 200 and isinstance(lateness.json(), float)
    assert client.post("/flow_runs/lateness", json={"flow_runs": {"id": {"any_": []}}}).json() is None


def test_bulk_set_state_and_bulk_delete(client: httpx.Client) -> None:
    flow = make_flow(client)
    marker = uuid.uuid4().hex[:8]
    runs = [make_run(client, flow["id"], tags=[marker]) for _ in range(3)]
    scope = {"tags": {"all_": [marker]}}
    response = client.post("/flow_runs/bulk_set_state", json={"flow_runs": scope, "state": {"type": "RUNNING"}})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert {r["flow_run_id"] for r in results} == {r["id"] for r in runs}
    assert {r["status"] for r in results} == {"ACCEPT"}
    assert client.post("/flow_runs/bulk_delete", json={"flow_runs": scope, "limit": 51}).status_code == 422
    deleted = client.post("/flow_runs/bulk_delete", json={"flow_runs": scope, "limit": 2}).json()["deleted"]
    assert len(deleted) == 2
    assert client.post("/flow_runs/count", json={"flow_runs": scope}).json() == 1


def test_sparse_scheduled_index_holds_only_scheduled_runs(
    client: httpx.Client, aws_endpoint_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """read_scheduled (for the scheduler/dispatcher) reads GSI6 directly, against the stack's table."""
    import datetime

    from shared.config import reset_settings_cache
    from shared.storage import flow_runs as store
    from shared.storage.table import configure_table

    deployment_id = str(uuid.uuid4())  # queue-less runs of one deployment share a partition
    flow = make_flow(client)
    soon = make_run(
        client,
        flow["id"],
        deployment_id=deployment_id,
        state={"type": "SCHEDULED", "state_details": {"scheduled_time": "2031-02-01T00:00:00Z"}},
    )
    later = make_run(
        client,
        flow["id"],
        deployment_id=deployment_id,
        state={"type": "SCHEDULED", "state_details": {"scheduled_time": "2031-03-01T00:00:00Z"}},
    )
    claimed = make_run(
        client,
        flow["id"],
        deployment_id=deployment_id,
        state={"type": "SCHEDULED", "state_details": {"scheduled_time": "2031-01-01T00:00:00Z"}},
    )
    client.post(f"/flow_runs/{claimed['id']}/set_state", json={"state": {"type": "PENDING"}, "force": True})

    for name, value in {
        "SERVERFLOW_AWS_ENDPOINT_URL": aws_endpoint_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }.items():
        monkeypatch.setenv(name, value)
    reset_settings_cache()
    configure_table()
    try:
        due = store.read_scheduled(
            deployment_id=uuid.UUID(deployment_id), before=datetime.datetime(2031, 2, 1, tzinfo=datetime.UTC)
        )
        everything = store.read_scheduled(deployment_id=uuid.UUID(deployment_id))
    finally:
        monkeypatch.undo()
        reset_settings_cache()
        configure_table()
    assert [r.id for r in due] == [uuid.UUID(soon["id"])]
    assert [str(r.id) for r in everything] == [soon["id"], later["id"]]
