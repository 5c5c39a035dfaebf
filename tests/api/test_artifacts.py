"""/artifacts routes over HTTP against the local stack."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from prefect.client.schemas.objects import Artifact as ClientArtifact
from prefect.client.schemas.objects import ArtifactCollection as ClientArtifactCollection


def _key() -> str:
    return f"report-{uuid.uuid4().hex[:12]}"


def _create(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/artifacts/", json=body)
    assert response.status_code == 201, response.text
    ClientArtifact.model_validate(response.json())
    return response.json()


def _post(client: httpx.Client, path: str, **body: Any) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_create_read_update_delete(client: httpx.Client) -> None:
    flow_run_id = str(uuid.uuid4())
    created = _create(
        client,
        key=_key(),
        type="markdown",
        description="# hi",
        data="**bold**",
        metadata_={"rows": "3", "long": "x" * 600},
        flow_run_id=flow_run_id,
    )
    assert created["metadata_"]["long"] == "x" * 500 + "..."  # the reference truncates metadata values
    assert created["flow_run_id"] == flow_run_id and created["task_run_id"] is None
    read = client.get(f"/artifacts/{created['id']}")
    assert read.status_code == 200 and read.json() == created

    patched = client.patch(f"/artifacts/{created['id']}", json={"description": "new", "data": {"a": 1}})
    assert patched.status_code == 204 and patched.content == b""
    after = client.get(f"/artifacts/{created['id']}").json()
    assert after["description"] == "new" and after["data"] == {"a": 1} and after["type"] == "markdown"
    assert after["updated"] > created["updated"]
    latest = client.get(f"/artifacts/{created['key']}/latest").json()
    assert latest["description"] == "new" and latest["data"] == {"a": 1}

    assert client.delete(f"/artifacts/{created['id']}").status_code == 204
    for response in (
        client.get(f"/artifacts/{created['id']}"),
        client.get(f"/artifacts/{created['key']}/latest"),
        client.delete(f"/artifacts/{created['id']}"),
        client.patch(f"/artifacts/{created['id']}", json={"description": "x"}),
    ):
        assert response.status_code == 404, response.text
        assert response.json() == {"detail": "Artifact not found."}


def test_unkeyed_artifact_has_no_collection(client: httpx.Client) -> None:
    created = _create(client, type="table", data=[[1, 2]])
    assert created["key"] is None
    found = _post(client, "/artifacts/latest/filter", artifacts={"latest_id": {"any_": [created["id"]]}})
    assert found == []
    assert client.delete(f"/artifacts/{created['id']}").status_code == 204


def test_latest_per_key_follows_creates_and_deletes(client: httpx.Client) -> None:
    key = _key()
    versions = [_create(client, key=key, type="markdown", data=f"v{i}") for i in range(3)]
    latest = client.get(f"/artifacts/{key}/latest").json()
    assert latest["data"] == "v2" and latest["key"] == key
    ClientArtifact.model_validate(latest)

    (collection,) = _post(client, "/artifacts/latest/filter", artifacts={"key": {"any_": [key]}})
    ClientArtifactCollection.model_validate(collection)
    assert collection["latest_id"] == versions[2]["id"] and collection["data"] == "v2"
    assert collection["created"] == versions[0]["created"]  # the collection dates from the first version
    assert latest["id"] == collection["id"]  # GET .../latest is the collection row, as in the reference

    # Deleting an older version leaves latest alone; deleting the latest moves it back.
    assert client.delete(f"/artifacts/{versions[0]['id']}").status_code == 204
    assert client.get(f"/artifacts/{key}/latest").json()["data"] == "v2"
    assert client.delete(f"/artifacts/{versions[2]['id']}").status_code == 204
    (moved,) = _post(client, "/artifacts/latest/filter", artifacts={"key": {"any_": [key]}})
    assert moved["latest_id"] == versions[1]["id"] and moved["data"] == "v1" and moved["id"] == collection["id"]
    assert client.delete(f"/artifacts/{versions[1]['id']}").status_code == 204
    assert client.get(f"/artifacts/{key}/latest").status_code == 404
    assert _post(client, "/artifacts/latest/count", artifacts={"key": {"any_": [key]}}) == 0


def test_concurrent_creates_keep_the_newest(api_url: str) -> None:
    key = _key()

    def create(i: int) -> dict[str, Any]:
        with httpx.Client(base_url=api_url, timeout=30) as http:
            response = http.post("/artifacts/", json={"key": key, "data": i})
            assert response.status_code == 201, response.text
            return response.json()

    with ThreadPoolExecutor(max_workers=10) as pool:
        made = list(pool.map(create, range(20)))
    newest = max(made, key=lambda a: (a["created"], a["id"]))
    with httpx.Client(base_url=api_url) as client:
        (collection,) = _post(client, "/artifacts/latest/filter", artifacts={"key": {"any_": [key]}})
        assert collection["latest_id"] == newest["id"]
        assert _post(client, "/artifacts/count", artifacts={"key": {"any_": [key]}}) == 20


def test_filters_sort_and_count(client: httpx.Client) -> None:
    flow_run, task_run, key = str(uuid.uuid4()), str(uuid.uuid4()), _key()
    kind = f"kind-{uuid.uuid4().hex[:6]}"
    a = _create(client, key=key, type=kind, data=1, flow_run_id=flow_run)
    b = _create(client, key=key, type=kind, data=2, flow_run_id=flow_run, task_run_id=task_run)
    c = _create(client, type=kind, data=3, flow_run_id=flow_run)
    d = _create(client, key=_key(), type="other", data=4, flow_run_id=flow_run)

    def ids(path: str, **body: Any) -> list[str]:
        return [x["id"] for x in _post(client, path, **body)]

    by_run = {"flow_run_id": {"any_": [flow_run]}}
    assert ids("/artifacts/filter", artifacts=by_run) == sorted([a["id"], b["id"], c["id"], d["id"]], reverse=True)
    assert _post(client, "/artifacts/count", artifacts=by_run) == 4
    assert ids("/artifacts/filter", artifacts={"task_run_id": {"any_": [task_run]}}) == [b["id"]]
    assert ids("/artifacts/filter", artifacts={"key": {"any_": [key]}}, sort="CREATED_DESC") == [b["id"], a["id"]]
    assert set(ids("/artifacts/filter", artifacts={"type": {"any_": [kind]}})) == {a["id"], b["id"], c["id"]}
    assert ids("/artifacts/filter", artifacts={**by_run, "type": {"not_any_": [kind]}}) == [d["id"]]
    assert ids("/artifacts/filter", artifacts={**by_run, "key": {"exists_": False}}) == [c["id"]]
    assert ids("/artifacts/filter", artifacts={"id": {"any_": [a["id"], c["id"]]}}, sort="ID_DESC") == sorted(
        [a["id"], c["id"]], reverse=True
    )
    page = ids("/artifacts/filter", artifacts=by_run, sort="CREATED_DESC", limit=2, offset=1)
    assert page == [c["id"], b["id"]]
    either = {"operator": "or_", "task_run_id": {"any_": [task_run]}, "type": {"any_": ["other"]}}
    assert set(ids("/artifacts/filter", artifacts={**either})) >= {b["id"], d["id"]}

    collections = _post(client, "/artifacts/latest/filter", artifacts=by_run, sort="KEY_ASC")
    assert [x["latest_id"] for x in collections] == [x["id"] for x in sorted([b, d], key=lambda y: y["key"])]
    assert _post(client, "/artifacts/latest/count", artifacts={"type": {"any_": [kind]}}) == 1
    assert _post(client, "/artifacts/latest/count", artifacts={"task_run_id": {"any_": [task_run]}}) == 1
    assert _post(client, "/artifacts/latest/filter", artifacts={"latest_id": {"any_": [a["id"]]}}) == []
    assert [
        x["key"] for x in _post(client, "/artifacts/latest/filter", artifacts={"latest_id": {"any_": [b["id"]]}})
    ] == [key]
    assert ids("/artifacts/filter", limit=1) and _post(client, "/artifacts/count") >= 4


def test_joined_flow_run_filters(client: httpx.Client) -> None:
    flow = client.post("/flows/", json={"name": f"artifact-flow-{uuid.uuid4().hex[:6]}"}).json()
    run = client.post("/flow_runs/", json={"flow_id": flow["id"], "name": "joined", "tags": ["art"]})
    assert run.status_code == 201, run.text
    run_id = run.json()["id"]
    mine = _create(client, key=_key(), data="joined", flow_run_id=run_id)
    _create(client, data="no run")
    by_run = {"id": {"any_": [run_id]}}
    assert [x["id"] for x in _post(client, "/artifacts/filter", flow_runs=by_run)] == [mine["id"]]
    assert [x["id"] for x in _post(client, "/artifacts/filter", flows={"id": {"any_": [flow["id"]]}})] == [mine["id"]]
    assert [x["latest_id"] for x in _post(client, "/artifacts/latest/filter", flow_runs=by_run)] == [mine["id"]]
    assert _post(client, "/artifacts/count", flow_runs={"id": {"any_": [str(uuid.uuid4())]}}) == 0
    assert _post(client, "/artifacts/count", flows={"id": {"any_": [flow["id"]]}}, deployments={}) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"key": "Has Upper"},  # keys: lowercase letters, numbers and dashes
        {"key": "under_score"},
        {"flow_run_id": "not-a-uuid"},
        {"metadata_": {"a": {"nested": 1}}},
        {"unknown_field": 1},
        [],
    ],
)
def test_bad_create_bodies_are_422(client: httpx.Client, body: Any) -> None:
    response = client.post("/artifacts/", json=body)
    assert response.status_code == 422, response.text
    assert "exception_message" in response.json()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/artifacts/filter", {"limit": 201}),
        ("/artifacts/filter", {"sort": "NAME_ASC"}),
        ("/artifacts/filter", {"artifacts": {"id": {"any_": ["nope"]}}}),
        ("/artifacts/latest/filter", {"artifacts": {"id": {"any_": []}}}),  # collections filter on latest_id
        ("/artifacts/count", {"artifacts": {"bogus": 1}}),
        ("/artifacts/latest/count", {"flow_runs": {"id": "x"}}),
    ],
)
def test_bad_filter_bodies_are_422(client: httpx.Client, path: str, body: dict[str, Any]) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text


def test_bad_ids_and_sizes_are_4xx(client: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    assert client.get(f"/artifacts/{missing}").status_code == 404
    assert client.get("/artifacts/not-a-uuid").status_code == 404  # no route, as with the reference
    assert client.get(f"/artifacts/{_key()}/latest").status_code == 404
    created = _create(client, data=1)
    assert client.patch(f"/artifacts/{created['id']}", json={"type": "x"}).status_code == 422  # not updatable
    assert client.patch(f"/artifacts/{created['id']}", json={"metadata_": "x"}).status_code == 422
    huge = client.post("/artifacts/", json={"data": "z" * 2_000_000})
    assert 400 <= huge.status_code < 500, huge.text
