"""Deployments over HTTP against the local stack: CRUD, upsert, names, filters, pause."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def _flow(client: httpx.Client, name: str | None = None) -> dict[str, Any]:
    response = client.post("/flows/", json={"name": name or f"flow-{uuid.uuid4().hex[:8]}"})
    assert response.status_code in (200, 201), response.text
    return response.json()


def _deployment(client: httpx.Client, flow_id: str, **body: Any) -> httpx.Response:
    return client.post("/deployments/", json={"name": f"dep-{uuid.uuid4().hex[:8]}", "flow_id": flow_id, **body})


def test_create_read_by_id_and_name_then_upsert(client: httpx.Client) -> None:
    flow = _flow(client)
    created = _deployment(client, flow["id"], name="nightly", parameters={"x": 1}, tags=["a"], description="first")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "nightly" and body["flow_id"] == flow["id"]
    assert body["parameters"] == {"x": 1} and body["status"] == "NOT_READY" and body["paused"] is False
    assert body["labels"]["prefect.flow.id"] == flow["id"]

    assert client.get(f"/deployments/{body['id']}").json() == body
    by_name = client.get(f"/deployments/name/{flow['name']}/nightly")
    assert by_name.status_code == 200 and by_name.json()["id"] == body["id"]

    # Same (flow, name): an update of the same deployment, 200; unsent fields are kept.
    again = _deployment(client, flow["id"], name="nightly", parameters={"x": 2})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == body["id"]
    assert again.json()["parameters"] == {"x": 2} and again.json()["description"] == "first"

    # The same name under another flow is a different deployment.
    other = _deployment(client, _flow(client)["id"], name="nightly")
    assert other.status_code == 201 and other.json()["id"] != body["id"]


def test_missing_objects_and_bad_ids(client: httpx.Client) -> None:
    assert client.get(f"/deployments/{uuid.uuid4()}").status_code == 404
    assert client.get("/deployments/not-a-uuid").status_code == 404
    assert client.get("/deployments/name/nope/nope").status_code == 404
    assert client.delete(f"/deployments/{uuid.uuid4()}").status_code == 404
    assert client.patch(f"/deployments/{uuid.uuid4()}", json={}).status_code == 404
    # A deployment of a flow that does not exist is the reference's integrity conflict.
    assert _deployment(client, str(uuid.uuid4())).status_code == 409
    # An unknown work pool is a 404 with the reference's wording.
    missing = _deployment(client, _flow(client)["id"], work_pool_name="no-such-pool")
    assert missing.status_code == 404 and missing.json()["detail"] == 'Work pool "no-such-pool" not found.'


def test_patch_and_delete(client: httpx.Client) -> None:
    flow = _flow(client)
    dep = _deployment(client, flow["id"], tags=["x"], parameters={"a": 1}).json()
    assert (
        client.patch(f"/deployments/{dep['id']}", json={"description": "new", "parameters": {"a": 2}}).status_code
        == 204
    )
    read = client.get(f"/deployments/{dep['id']}").json()
    assert read["description"] == "new" and read["parameters"] == {"a": 2} and read["tags"] == ["x"]
    assert client.delete(f"/deployments/{dep['id']}").status_code == 204
    assert client.get(f"/deployments/{dep['id']}").status_code == 404
    assert client.get(f"/deployments/name/{flow['name']}/{dep['name']}").status_code == 404
    # The name is free again.
    assert _deployment(client, flow["id"], name=dep["name"]).status_code == 201


def test_filter_count_paginate(client: httpx.Client) -> None:
    flow = _flow(client)
    tag = uuid.uuid4().hex
    names = [f"p-{tag[:6]}-{i}" for i in range(3)]
    ids = [_deployment(client, flow["id"], name=n, tags=[tag]).json()["id"] for n in names]
    body = {"deployments": {"tags": {"all_": [tag]}}}
    found = client.post("/deployments/filter", json={**body, "sort": "NAME_DESC"}).json()
    assert [d["name"] for d in found] == sorted(names, reverse=True)
    assert client.post("/deployments/count", json=body).json() == 3
    page = client.post("/deployments/paginate", json={**body, "limit": 2, "page": 2}).json()
    assert page["count"] == 3 and page["pages"] == 2 and len(page["results"]) == 1
    by_flow = client.post("/deployments/filter", json={"flows": {"id": {"any_": [flow["id"]]}}}).json()
    assert {d["id"] for d in by_flow} == set(ids)
    by_id = client.post("/deployments/filter", json={"deployments": {"id": {"any_": ids[:1]}}}).json()
    assert [d["id"] for d in by_id] == ids[:1]
    # flows/filter joins deployments through this domain.
    flows = client.post("/flows/filter", json={"deployments": {"id": {"any_": ids[:1]}}}).json()
    assert [f["id"] for f in flows] == [flow["id"]]


def test_pause_and_resume(client: httpx.Client) -> None:
    flow = _flow(client)
    dep = _deployment(client, flow["id"]).json()
    assert client.post(f"/deployments/{dep['id']}/pause_deployment").status_code == 200
    assert client.get(f"/deployments/{dep['id']}").json()["paused"] is True
    paused = client.post(
        "/deployments/filter", json={"deployments": {"paused": {"eq_": True}, "id": {"any_": [dep["id"]]}}}
    )
    assert [d["id"] for d in paused.json()] == [dep["id"]]
    assert client.post(f"/deployments/{dep['id']}/resume_deployment").status_code == 200
    assert client.get(f"/deployments/{dep['id']}").json()["paused"] is False
    assert client.post(f"/deployments/{uuid.uuid4()}/pause_deployment").status_code == 404


def test_patch_with_null_job_variables_keeps_them(client: httpx.Client) -> None:
    # Found by the conformance suite: the reference answers 204 and keeps the stored job variables
    # (the prefect client sends null for fields it was not given); this was a 422.
    flow = _flow(client)
    pool = f"pool-{uuid.uuid4().hex[:8]}"
    assert client.post("/work_pools/", json={"name": pool, "type": "process"}).status_code == 201
    dep = _deployment(client, flow["id"], work_pool_name=pool, job_variables={"env": {"A": "1"}}).json()
    response = client.patch(f"/deployments/{dep['id']}", json={"job_variables": None, "description": "d"})
    assert response.status_code == 204, response.text
    after = client.get(f"/deployments/{dep['id']}").json()
    assert after["job_variables"] == {"env": {"A": "1"}} and after["description"] == "d"
