"""Bad input on /flow_runs and /flow_run_states: always a Prefect-shaped 4xx, never a 5xx."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support.api import make_flow, make_run

JSON = {"content-type": "application/json"}


def assert_validation_error(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["exception_message"] == "Invalid request received." and body["exception_detail"]


@pytest.mark.parametrize(
    "path",
    ["/flow_runs/", "/flow_runs/filter", "/flow_runs/count", "/flow_runs/paginate", "/flow_runs/history"],
)
def test_malformed_json_is_422(client: httpx.Client, path: str) -> None:
    assert_validation_error(client.post(path, content=b"{not json", headers=JSON))


def test_malformed_json_on_run_routes_is_422(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"])
    for method, suffix in (("POST", "/set_state"), ("PATCH", ""), ("PATCH", "/labels"), ("POST", "/resume")):
        response = client.request(method, f"/flow_runs/{run['id']}{suffix}", content=b"[1,", headers=JSON)
        assert_validation_error(response)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"flow_id": "not-a-uuid"},
        {"flow_id": str(uuid.uuid4()), "parameters": "nope"},
        {"flow_id": str(uuid.uuid4()), "tags": "x"},
        {"flow_id": str(uuid.uuid4()), "state": {"type": "SLEEPING"}},
        {"flow_id": str(uuid.uuid4()), "unknown_field": 1},
        {"flow_id": str(uuid.uuid4()), "empirical_policy": {"retries": "many"}},
    ],
)
def test_create_wrong_types_are_422(client: httpx.Client, body: dict[str, object]) -> None:
    assert_validation_error(client.post("/flow_runs/", json=body))


def test_create_for_unknown_flow_is_409_like_the_reference(client: httpx.Client) -> None:
    response = client.post("/flow_runs/", json={"flow_id": str(uuid.uuid4())})
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Data integrity conflict.")


def test_unknown_ids_are_404(client: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    assert client.get(f"/flow_runs/{missing}").json() == {"detail": "Flow run not found"}
    assert client.get(f"/flow_runs/{missing}").status_code == 404
    assert client.patch(f"/flow_runs/{missing}", json={"name": "x"}).status_code == 404
    assert client.delete(f"/flow_runs/{missing}").status_code == 404
    for path, body in (
        (f"/flow_runs/{missing}/set_state", {"state": {"type": "PENDING"}}),
        (f"/flow_runs/{missing}/resume", {}),
    ):
        response = client.post(path, json=body)
        assert response.status_code == 404
        assert response.json() == {"exception_message": f"Flow run with id {missing} not found"}
    labels = client.patch(f"/flow_runs/{missing}/labels", json={"a": "b"})
    assert labels.status_code == 404 and "exception_message" in labels.json()
    assert client.get(f"/flow_run_states/{missing}").status_code == 404


def test_malformed_ids_in_paths_are_404_not_found(client: httpx.Client) -> None:
    # The reference's `{id:uuid}` routes do not match a non-UUID at all.
    for method, path in (("GET", "/flow_runs/abc"), ("DELETE", "/flow_runs/abc"), ("GET", "/flow_run_states/abc")):
        response = client.request(method, path)
        assert response.status_code in (404, 405), response.text
    assert client.get("/flow_run_states/", params={"flow_run_id": "abc"}).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"limit": 201},
        {"limit": -1},
        {"offset": -1},
        {"sort": "SIDEWAYS"},
        {"flow_runs": {"nope": {}}},
        {"flow_runs": {"id": {"any_": ["x"]}}},
        {"flow_runs": {"state": {"type": {"any_": ["WRONG"]}}}},
    ],
)
def test_bad_filter_bodies_are_422(client: httpx.Client, body: dict[str, object]) -> None:
    response = client.post("/flow_runs/filter", json=body)
    assert response.status_code == 422, response.text


def test_bad_set_state_bodies_are_422(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"])
    for body in ({}, {"state": {}}, {"state": {"type": "PENDING"}, "force": "maybe"}, {"state": "PENDING"}):
        assert_validation_error(client.post(f"/flow_runs/{run['id']}/set_state", json=body))
    assert client.post(f"/flow_runs/{run['id']}/resume", json={"run_input": [1]}).status_code == 422
    assert client.patch(f"/flow_runs/{run['id']}/labels", json=["a"]).status_code == 422
    assert client.post("/flow_runs/paginate", json={"page": 0}).status_code == 422


def test_oversized_payloads_are_4xx(client: httpx.Client) -> None:
    flow = make_flow(client)
    # Over the API's body limit: rejected before any handler runs.
    huge = client.post("/flow_runs/", json={"flow_id": flow["id"], "parameters": {"x": "a" * 600_000}})
    assert huge.status_code == 413
    run = make_run(client, flow["id"])
    # Under the body limit, but run + state data together would pass DynamoDB's item limit.
    big = "b" * 340_000
    assert client.patch(f"/flow_runs/{run['id']}", json={"parameters": {"x": big}}).status_code == 204
    too_big = client.post(f"/flow_runs/{run['id']}/set_state", json={"state": {"type": "RUNNING", "data": {"y": big}}})
    assert too_big.status_code == 413, too_big.text
    assert client.get(f"/flow_runs/{run['id']}").json()["state_type"] == "PENDING"
