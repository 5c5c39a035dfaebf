"""Explicit `null` for an optional body field means its default, through HTTP on the locked FastAPI.

The prefect client sends `null` for every optional body field it was not given; the reference (prefect
3.9.1) reads it as the default. These are the 29 (route, field) pairs issue #9 found answering 422: each
must answer exactly what the same request without the field answers. Required fields still reject null.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.api import assert_422_detail


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _ok(response: httpx.Response) -> Any:
    assert response.status_code < 400, (
        f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    )
    return response.json() if response.content else None


@pytest.fixture(scope="module")
def seeded(api_url: str) -> Iterator[dict[str, str]]:
    """Two of each object, created so that the default sort differs from the other sorts."""
    with httpx.Client(base_url=api_url, timeout=30) as http:
        yield _seed(http)


def _seed(http: httpx.Client) -> dict[str, str]:
    pool = _ok(http.post("/work_pools/", json={"name": _unique("null-pool"), "type": "process"}))
    for name in ("null-q-b", "null-q-a"):
        _ok(http.post(f"/work_pools/{pool['name']}/queues/", json={"name": _unique(name)}))
    for name in ("null-worker-b", "null-worker-a"):
        _ok(http.post(f"/work_pools/{pool['name']}/workers/heartbeat", json={"name": _unique(name)}))
    flows = [_ok(http.post("/flows/", json={"name": _unique(name)})) for name in ("null-flow-b", "null-flow-a")]
    runs = [_ok(http.post("/flow_runs/", json={"flow_id": flow["id"], "name": _unique("null-run")})) for flow in flows]
    for index, run in enumerate(runs):
        _ok(
            http.post(
                "/task_runs/",
                json={
                    "flow_run_id": run["id"],
                    "task_key": "t",
                    "dynamic_key": str(index),
                    "name": _unique("null-task"),
                },
            )
        )
        _ok(
            http.post(
                "/artifacts/",
                json={"key": _unique("null-artifact"), "type": "markdown", "data": "x", "flow_run_id": run["id"]},
            )
        )
    _ok(
        http.post(
            "/logs/",
            json=[
                {
                    "name": "null",
                    "level": 20,
                    "message": f"m{index}",
                    "timestamp": f"2026-11-2{index}T00:00:00Z",
                    "flow_run_id": runs[0]["id"],
                }
                for index in range(2)
            ],
        )
    )
    deployments = [
        _ok(
            http.post(
                "/deployments/",
                json={"name": _unique("null-deployment"), "flow_id": flow["id"], "work_pool_name": pool["name"]},
            )
        )
        for flow in flows
    ]
    return {"pool": pool["name"], "flow_run_id": runs[0]["id"], "deployment_id": deployments[0]["id"]}


# (path template, field): the optional body field sent as null, alone.
NULL_PAIRS: list[tuple[str, str]] = [
    *[
        (f"/{kind}/filter", field)
        for kind in ("flows", "flow_runs", "task_runs", "deployments", "logs", "artifacts", "artifacts/latest")
        for field in ("sort", "offset")
    ],
    *[
        (f"/{kind}/paginate", field)
        for kind in ("flows", "flow_runs", "task_runs", "deployments")
        for field in ("page", "sort")
    ],
    ("/work_pools/filter", "offset"),
    ("/work_pools/{pool}/queues/filter", "offset"),
    ("/work_pools/{pool}/workers/filter", "offset"),
    ("/work_queues/filter", "offset"),
    ("/events/filter", "limit"),
]


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def _comparable(path: str, body: Any) -> Any:
    """Which objects, in which order (and the page numbers): runs carry fields computed from the clock, and
    an events page links to its next one with a fresh token."""
    if path == "/events/filter":
        return {"events": _ids(body["events"]), "total": body["total"]}
    if isinstance(body, dict) and "results" in body:
        return {**body, "results": _ids(body["results"])}
    return _ids(body)


def _same_as_omitted(send: Callable[[dict[str, Any]], httpx.Response], path: str, field: str) -> None:
    """`{field: null}` answers what `{}` answers. The stack's scheduled functions may write meanwhile, so
    the null answer must equal the omitted answer just before or just after it."""
    before = send({})
    with_null = send({field: None})
    after = send({})
    assert with_null.status_code == before.status_code == 200, with_null.text
    answers = [_comparable(path, before.json()), _comparable(path, after.json())]
    assert _comparable(path, with_null.json()) in answers


@pytest.mark.parametrize(("path", "field"), NULL_PAIRS, ids=[f"{path}:{field}" for path, field in NULL_PAIRS])
def test_an_explicit_null_is_the_default(client: httpx.Client, seeded: dict[str, str], path: str, field: str) -> None:
    url = path.format(pool=seeded["pool"])
    # Events arrive all the time on a shared stack (scheduled functions, other tests' flows still shipping
    # theirs): the events page compares the seeded run's own events, a set nothing else writes to.
    base = _seeded_run_events(client, seeded) if path == "/events/filter" else {}
    _same_as_omitted(lambda body: client.post(url, json={**base, **body}), path, field)


def _seeded_run_events(client: httpx.Client, seeded: dict[str, str]) -> dict[str, Any]:
    body = {"filter": {"any_resource": {"id": [f"prefect.flow-run.{seeded['flow_run_id']}"]}}}
    assert _ok(client.post("/events/filter", json=body))["events"], "the seeded run has no events to compare"
    return body


def test_the_clients_own_filter_body_with_nulls_is_accepted(client: httpx.Client, seeded: dict[str, str]) -> None:
    """What `read_flow_runs()` posts with no arguments: every optional field present, most of them null."""
    body = {
        "flows": None,
        "flow_runs": None,
        "task_runs": None,
        "deployments": None,
        "work_pools": None,
        "work_pool_queues": None,
        "sort": None,
        "limit": None,
        "offset": 0,
    }
    path = "/flow_runs/filter"
    before = client.post(path, json={})
    with_nulls = client.post(path, json=body)
    after = client.post(path, json={})
    assert with_nulls.status_code == 200, with_nulls.text
    assert _comparable(path, with_nulls.json()) in [_comparable(path, before.json()), _comparable(path, after.json())]


def test_a_null_empirical_policy_updates_a_flow_run_with_the_default_policy(
    client: httpx.Client, seeded: dict[str, str]
) -> None:
    """The reference crashes (500) on this one; null means default here as everywhere."""
    run_id = seeded["flow_run_id"]
    response = client.patch(f"/flow_runs/{run_id}", json={"empirical_policy": None})
    assert response.status_code == 204, response.text
    default = client.patch(f"/flow_runs/{run_id}", json={"empirical_policy": {}})
    assert default.status_code == 204, default.text
    assert _ok(client.get(f"/flow_runs/{run_id}"))["empirical_policy"]["retries"] is None


def test_a_null_empirical_policy_creates_a_deployment_run_with_the_default_policy(
    client: httpx.Client, seeded: dict[str, str]
) -> None:
    url = f"/deployments/{seeded['deployment_id']}/create_flow_run"
    with_null = client.post(url, json={"empirical_policy": None})
    omitted = client.post(url, json={})
    assert with_null.status_code == omitted.status_code == 201, with_null.text
    assert with_null.json()["empirical_policy"] == omitted.json()["empirical_policy"]


def test_a_required_body_parameter_still_rejects_null(client: httpx.Client, seeded: dict[str, str]) -> None:
    """As the reference: a null required parameter is reported missing."""
    response = client.post(f"/flow_runs/{seeded['flow_run_id']}/set_state", json={"state": None, "force": None})
    body = assert_422_detail(response, "missing")
    assert body["exception_detail"][0]["loc"] == ["body", "state"]


def test_a_wrong_value_is_still_rejected(client: httpx.Client) -> None:
    assert_422_detail(client.post("/flows/filter", json={"sort": "SIDEWAYS"}), "sort")
    assert_422_detail(client.post("/flows/filter", json={"offset": -1}), "offset")


def test_a_null_field_inside_a_body_model_is_validated_as_the_reference_does(
    client: httpx.Client, seeded: dict[str, str]
) -> None:
    """Only body *parameters* read null as absent; a model's own fields are pydantic's (reference: 422)."""
    assert_422_detail(client.patch(f"/flow_runs/{seeded['flow_run_id']}", json={"tags": None}), "tags")
