"""/saved_searches routes over HTTP against the local stack."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from prefect.client.schemas.objects import SavedSearch as ClientSavedSearch

FILTER = {"object": "flow_run", "property": "state", "type": "string", "operation": "equals", "value": "Failed"}


def _put(client: httpx.Client, name: str, filters: list[dict[str, Any]]) -> httpx.Response:
    return client.put("/saved_searches/", json={"name": name, "filters": filters})


def test_put_creates_then_upserts_by_name(client: httpx.Client) -> None:
    name = f"search {uuid.uuid4().hex[:8]}"
    created = _put(client, name, [FILTER])
    assert created.status_code == 201, created.text
    body = ClientSavedSearch.model_validate(created.json())
    assert body.filters[0].value == "Failed"
    replaced = _put(client, name, [{**FILTER, "value": {"any": [1, 2]}, "unknown": "dropped"}])
    assert replaced.status_code == 200
    assert replaced.json()["id"] == created.json()["id"]
    assert replaced.json()["filters"] == [{**FILTER, "value": {"any": [1, 2]}}]
    assert client.get(f"/saved_searches/{created.json()['id']}").json() == replaced.json()


def test_filter_in_name_order_with_paging_and_delete(client: httpx.Client) -> None:
    prefix = f"zz-{uuid.uuid4().hex[:8]}"
    ids = [_put(client, f"{prefix}-{i}", []).json()["id"] for i in (2, 0, 1)]
    listed = client.post("/saved_searches/filter", json={"limit": 200}).json()
    mine = [s["name"] for s in listed if s["name"].startswith(prefix)]
    assert mine == [f"{prefix}-0", f"{prefix}-1", f"{prefix}-2"]
    all_names = [s["name"] for s in listed]
    assert all_names == sorted(all_names)
    page = client.post("/saved_searches/filter", json={"offset": 1, "limit": 1}).json()
    assert [s["name"] for s in page] == all_names[1:2]
    assert client.post("/saved_searches/filter", json={"offset": 10**30}).json() == []
    for search_id in ids:
        assert client.delete(f"/saved_searches/{search_id}").status_code == 204
    assert client.get(f"/saved_searches/{ids[0]}").json() == {"detail": "Saved search not found"}
    assert client.delete(f"/saved_searches/{ids[0]}").status_code == 404
    # the name is free again after a delete
    assert _put(client, f"{prefix}-0", []).status_code == 201


def test_concurrent_puts_of_one_name_make_one_search(client: httpx.Client) -> None:
    name = f"race-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(lambda i: _put(client, name, [{**FILTER, "value": i}]), range(6)))
    assert sorted(r.status_code for r in responses) == [200] * 5 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    listed = client.post("/saved_searches/filter", json={"limit": 200}).json()
    assert [s["name"] for s in listed].count(name) == 1


def test_bad_input_is_422(client: httpx.Client) -> None:
    assert client.put("/saved_searches/", json={"filters": []}).status_code == 422
    assert client.put("/saved_searches/", json={"name": "x", "filters": [{"object": "flow"}]}).status_code == 422
    assert client.put("/saved_searches/", json={"name": "x", "bogus": 1}).status_code == 422
    assert client.post("/saved_searches/filter", json={"limit": -1}).status_code == 422
    assert client.get("/saved_searches/not-a-uuid").status_code == 404
