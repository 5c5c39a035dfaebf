"""Deployment run routes beyond create_flow_run: bulk create, /schedule and /work_queue_check."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import httpx

from tests.support.api import create_deployment, create_process_pool


def _runs_of(client: httpx.Client, deployment_id: str) -> list[dict[str, Any]]:
    response = client.post("/flow_runs/filter", json={"deployments": {"id": {"any_": [deployment_id]}}})
    assert response.status_code == 200, response.text
    return response.json()


def test_bulk_create_makes_each_run_and_reports_failures(client: httpx.Client) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    dep = create_deployment(
        client, parameter_openapi_schema=schema, enforce_parameter_schema=True, parameters={"n": 1}, tags=["dep"]
    )
    body = [
        {"parameters": {"n": 2}, "tags": ["extra"]},
        {"parameters": {"n": "two"}},
        {"idempotency_key": "bulk-k", "state": {"type": "PENDING"}},
        {"idempotency_key": "bulk-k"},
        {"work_queue_name": "elsewhere"},
    ]
    response = client.post(f"/deployments/{dep['id']}/create_flow_run/bulk", json=body)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["CREATED", "FAILED", "CREATED", "CREATED", "FAILED"]
    assert results[1]["flow_run_id"] is None
    assert results[1]["error"].startswith("Parameter validation failed: Validation failed for field 'n'.")
    assert results[2]["flow_run_id"] == results[3]["flow_run_id"]  # same idempotency key, one run
    assert results[4]["error"] == (
        "Cannot create flow run in work queue elsewhere because deployment is not associated with a work pool."
    )

    first = client.get(f"/flow_runs/{results[0]['flow_run_id']}").json()
    assert first["parameters"] == {"n": 2} and set(first["tags"]) == {"dep", "extra"}
    assert first["state"]["type"] == "SCHEDULED" and first["deployment_id"] == dep["id"]
    assert client.get(f"/flow_runs/{results[2]['flow_run_id']}").json()["state"]["type"] == "PENDING"
    assert len(_runs_of(client, dep["id"])) == 2


def test_bulk_create_limits_and_missing_deployment(client: httpx.Client) -> None:
    dep = create_deployment(client)
    assert client.post(f"/deployments/{dep['id']}/create_flow_run/bulk", json=[]).json() == {"results": []}
    too_many = client.post(f"/deployments/{dep['id']}/create_flow_run/bulk", json=[{}] * 101)
    assert too_many.status_code == 400
    assert too_many.json() == {"detail": "Cannot create more than 100 flow runs at once."}
    missing = client.post(f"/deployments/{uuid.uuid4()}/create_flow_run/bulk", json=[])
    assert missing.status_code == 404 and missing.json() == {"detail": "Deployment not found"}
    assert client.post(f"/deployments/{dep['id']}/create_flow_run/bulk", json={"not": "a list"}).status_code == 422
    assert client.post(f"/deployments/{dep['id']}/create_flow_run/bulk", json=[{"bogus": 1}]).status_code == 422


def test_bulk_create_in_a_pool_queue(client: httpx.Client) -> None:
    pool = create_process_pool(client)
    dep = create_deployment(client, work_pool_name=pool["name"], job_variables={"image": "img"})
    results = client.post(
        f"/deployments/{dep['id']}/create_flow_run/bulk", json=[{}, {"work_queue_name": "bulk-queue"}]
    ).json()["results"]
    assert [r["status"] for r in results] == ["CREATED", "CREATED"], results
    second = client.get(f"/flow_runs/{results[1]['flow_run_id']}").json()
    assert second["work_queue_name"] == "bulk-queue" and second["work_pool_name"] == pool["name"]
    assert client.get(f"/work_pools/{pool['name']}/queues/bulk-queue").status_code == 200


def _iso(value: datetime.datetime) -> str:
    return value.isoformat()


def test_schedule_backfills_runs_and_is_idempotent(client: httpx.Client) -> None:
    hourly = {"schedule": {"interval": 3600, "anchor_date": "2026-01-01T00:00:00Z"}, "active": True}
    dep = create_deployment(client, schedules=[hourly], paused=True)
    start = datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC)
    body = {
        "start_time": _iso(start),
        "end_time": _iso(start + datetime.timedelta(hours=5)),
        "min_runs": 1,
        "min_time": 0,
        "max_runs": 50,
    }
    response = client.post(f"/deployments/{dep['id']}/schedule", json=body)
    assert response.status_code == 200, response.text
    assert response.json() is None
    runs = _runs_of(client, dep["id"])
    # min_runs 1 and min_time 0: the first tick satisfies both minimums
    assert [r["expected_start_time"][:19] for r in runs] == ["2026-03-01T00:00:00"]
    body.update(min_runs=4, min_time=None)
    assert client.post(f"/deployments/{dep['id']}/schedule", json=body).status_code == 200
    times = sorted(r["expected_start_time"][:19] for r in _runs_of(client, dep["id"]))
    assert times == [f"2026-03-01T0{h}:00:00" for h in range(4)]
    assert all("auto-scheduled" in r["tags"] and r["auto_scheduled"] for r in _runs_of(client, dep["id"]))
    # the same request again makes nothing new (idempotency keys)
    assert client.post(f"/deployments/{dep['id']}/schedule", json=body).status_code == 200
    assert len(_runs_of(client, dep["id"])) == 4
    next_day = start + datetime.timedelta(days=1)
    body.update(
        max_runs=2, min_runs=10, start_time=_iso(next_day), end_time=_iso(next_day + datetime.timedelta(hours=5))
    )
    assert client.post(f"/deployments/{dep['id']}/schedule", json=body).status_code == 200
    assert len(_runs_of(client, dep["id"])) == 6


def test_schedule_bad_input(client: httpx.Client) -> None:
    dep = create_deployment(client)
    assert client.post(f"/deployments/{uuid.uuid4()}/schedule", json={}).status_code == 404
    assert client.post(f"/deployments/{dep['id']}/schedule", json={}).status_code == 200  # no schedules: nothing
    assert client.post(f"/deployments/{dep['id']}/schedule", json={"max_runs": -1}).status_code == 422
    assert client.post(f"/deployments/{dep['id']}/schedule", json={"start_time": "yesterday"}).status_code == 422
    huge = client.post(f"/deployments/{dep['id']}/schedule", json={"min_time": 1e300})
    assert huge.status_code == 422, huge.text


def test_work_queue_check_lists_queues_whose_filters_accept_the_deployment(client: httpx.Client) -> None:
    dep = create_deployment(client, tags=["etl", "prod"])
    tag = uuid.uuid4().hex[:8]
    accepting = client.post("/work_queues/", json={"name": f"wqc-ok-{tag}", "filter": {"tags": ["etl"]}}).json()
    other = client.post("/work_queues/", json={"name": f"wqc-no-{tag}", "filter": {"tags": ["gpu"]}}).json()
    by_id = client.post(
        "/work_queues/", json={"name": f"wqc-id-{tag}", "filter": {"deployment_ids": [str(uuid.uuid4())]}}
    ).json()
    response = client.get(f"/deployments/{dep['id']}/work_queue_check")
    assert response.status_code == 200, response.text
    ids = {q["id"] for q in response.json()}
    assert accepting["id"] in ids and other["id"] not in ids and by_id["id"] not in ids
    row = next(q for q in response.json() if q["id"] == accepting["id"])
    assert "work_pool_name" not in row and "status" not in row and row["filter"]["tags"] == ["etl"]
    missing = client.get(f"/deployments/{uuid.uuid4()}/work_queue_check")
    assert missing.status_code == 404 and missing.json() == {"detail": "Deployment not found"}
