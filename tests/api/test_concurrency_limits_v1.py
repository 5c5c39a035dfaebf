"""/concurrency_limits (v1 tag limits) over HTTP: an adapter over the v2 `tag:<tag>` limits."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from prefect.client.schemas.objects import ConcurrencyLimit as ClientConcurrencyLimit


def _tag() -> str:
    return f"tag-{uuid.uuid4().hex[:10]}"


def _create(client: httpx.Client, tag: str, limit: int) -> dict[str, Any]:
    response = client.post("/concurrency_limits/", json={"tag": tag, "concurrency_limit": limit})
    assert response.status_code in (200, 201), response.text
    ClientConcurrencyLimit.model_validate(response.json())
    return response.json()


def test_create_is_an_upsert_over_the_v2_tag_limit(client: httpx.Client) -> None:
    tag = _tag()
    first = client.post("/concurrency_limits/", json={"tag": tag, "concurrency_limit": 2})
    assert first.status_code == 201
    again = client.post("/concurrency_limits/", json={"tag": tag, "concurrency_limit": 4})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert again.json()["concurrency_limit"] == 4
    v2 = client.get(f"/v2/concurrency_limits/tag:{tag}").json()
    assert v2["id"] == first.json()["id"] and v2["limit"] == 4
    assert client.get(f"/concurrency_limits/{first.json()['id']}").json()["tag"] == tag
    assert client.get(f"/concurrency_limits/tag/{tag}").json()["concurrency_limit"] == 4
    listed = client.post("/concurrency_limits/filter", json={"limit": 200}).json()
    assert tag in [limit["tag"] for limit in listed]
    # global (non-tag) limits are not v1 limits
    other = client.post("/v2/concurrency_limits/", json={"name": f"plain-{uuid.uuid4().hex[:8]}", "limit": 1}).json()
    assert other["name"] not in [limit["tag"] for limit in listed]
    assert client.get(f"/concurrency_limits/{other['id']}").status_code == 404


def test_increment_decrement_track_task_runs(client: httpx.Client) -> None:
    tag = _tag()
    created = _create(client, tag, 2)
    runs = [str(uuid.uuid4()) for _ in range(3)]
    for run in runs[:2]:
        taken = client.post("/concurrency_limits/increment", json={"names": [tag], "task_run_id": run})
        assert taken.status_code == 200 and taken.json() == [{"id": created["id"], "name": tag, "limit": 2}]
    full = client.post("/concurrency_limits/increment", json={"names": [tag], "task_run_id": runs[2]})
    assert full.status_code == 423 and full.headers["Retry-After"] and tag in full.json()["detail"]
    assert sorted(client.get(f"/concurrency_limits/tag/{tag}").json()["active_slots"]) == sorted(runs[:2])
    released = client.post("/concurrency_limits/decrement", json={"names": [tag], "task_run_id": runs[0]})
    assert released.status_code == 200 and released.json()[0]["name"] == f"tag:{tag}"
    assert client.get(f"/concurrency_limits/tag/{tag}").json()["active_slots"] == [runs[1]]
    assert client.get(f"/v2/concurrency_limits/tag:{tag}").json()["active_slots"] == 1
    # tags without a limit take nothing
    assert client.post("/concurrency_limits/increment", json={"names": [_tag()], "task_run_id": runs[2]}).json() == []


def test_zero_limit_is_locked_with_a_deadlock_reason(client: httpx.Client) -> None:
    tag = _tag()
    _create(client, tag, 0)
    response = client.post("/concurrency_limits/increment", json={"names": [tag], "task_run_id": str(uuid.uuid4())})
    assert response.status_code == 423 and "deadlock" in response.json()["detail"]


def test_reset_frees_slots_and_applies_the_override(client: httpx.Client) -> None:
    tag = _tag()
    _create(client, tag, 1)
    client.post("/concurrency_limits/increment", json={"names": [tag], "task_run_id": str(uuid.uuid4())})
    assert client.post(f"/concurrency_limits/tag/{tag}/reset", json={}).status_code == 200
    assert client.get(f"/concurrency_limits/tag/{tag}").json()["active_slots"] == []
    assert client.get(f"/v2/concurrency_limits/tag:{tag}").json()["active_slots"] == 0
    override = [str(uuid.uuid4()), str(uuid.uuid4())]
    client.post(f"/concurrency_limits/tag/{tag}/reset", json={"slot_override": override})
    assert sorted(client.get(f"/concurrency_limits/tag/{tag}").json()["active_slots"]) == sorted(override)
    assert client.get(f"/v2/concurrency_limits/tag:{tag}").json()["active_slots"] == 2
    assert client.post(f"/concurrency_limits/tag/{_tag()}/reset", json={}).status_code == 404


def test_delete_by_id_and_by_tag(client: httpx.Client) -> None:
    first, second = _tag(), _tag()
    by_id = _create(client, first, 1)
    _create(client, second, 1)
    assert client.delete(f"/concurrency_limits/{by_id['id']}").status_code == 200
    assert client.get(f"/concurrency_limits/tag/{first}").status_code == 404
    assert client.delete(f"/concurrency_limits/tag/{second}").status_code == 200
    assert client.get(f"/v2/concurrency_limits/tag:{second}").status_code == 404
    assert client.delete(f"/concurrency_limits/tag/{second}").status_code == 404
    assert client.delete(f"/concurrency_limits/{uuid.uuid4()}").status_code == 404


def test_bad_input(client: httpx.Client) -> None:
    negative = client.post("/concurrency_limits/", json={"tag": _tag(), "concurrency_limit": -1})
    assert negative.status_code == 422 and "exception_detail" in negative.json()
    assert client.post("/concurrency_limits/", json={"tag": _tag()}).status_code == 422
    missing = client.get(f"/concurrency_limits/tag/{_tag()}")
    assert missing.status_code == 404 and missing.json() == {"detail": "Concurrency limit not found"}
    assert client.post("/concurrency_limits/increment", json={"names": ["x"], "task_run_id": "nope"}).status_code == 422
