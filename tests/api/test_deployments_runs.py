"""create_flow_run from a deployment (job variables: pool -> deployment -> run), the
runner's get_scheduled_flow_runs, and bad schedules over HTTP."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import httpx
import pytest

from tests.support.api import create_deployment, create_flow_id, create_process_pool


def test_deployment_in_a_pool_gets_its_default_queue(client: httpx.Client) -> None:
    pool = create_process_pool(client)
    dep = create_deployment(client, work_pool_name=pool["name"])
    assert dep["work_pool_name"] == pool["name"] and dep["work_queue_name"] == "default"
    assert dep["work_queue_id"] == pool["default_queue_id"]
    named = create_deployment(client, work_pool_name=pool["name"], work_queue_name="high")
    queue = client.get(f"/work_pools/{pool['name']}/queues/high")
    assert queue.status_code == 200 and named["work_queue_id"] == queue.json()["id"]
    in_pool = client.post("/deployments/filter", json={"work_pools": {"name": {"any_": [pool["name"]]}}}).json()
    assert {d["id"] for d in in_pool} == {dep["id"], named["id"]}


def test_deployment_job_variables_are_type_checked_but_required_is_left_to_runs(client: httpx.Client) -> None:
    pool = create_process_pool(client)
    flow_id = create_flow_id(client)
    bad = client.post(
        "/deployments/",
        json={"name": "bad", "flow_id": flow_id, "work_pool_name": pool["name"], "job_variables": {"memory": "lots"}},
    )
    assert bad.status_code == 422 and "memory" in bad.json()["detail"]
    # No image: fine for a deployment, its runs may bring one.
    assert create_deployment(client, work_pool_name=pool["name"], job_variables={"memory": 1024})


def test_create_flow_run_requires_required_job_variables_at_run_level(client: httpx.Client) -> None:
    pool = create_process_pool(client)
    dep = create_deployment(client, work_pool_name=pool["name"], parameters={"a": 1, "b": 2})
    missing = client.post(f"/deployments/{dep['id']}/create_flow_run", json={})
    assert missing.status_code == 422
    assert "Error creating flow run" in missing.json()["detail"] and "image" in missing.json()["detail"]

    created = client.post(
        f"/deployments/{dep['id']}/create_flow_run",
        json={"parameters": {"b": 3}, "job_variables": {"image": "python:3.11"}, "tags": ["t"]},
    )
    assert created.status_code == 201, created.text
    run = created.json()
    assert run["deployment_id"] == dep["id"] and run["flow_id"] == dep["flow_id"]
    assert run["parameters"] == {"a": 1, "b": 3}
    assert run["state"]["type"] == "SCHEDULED" and run["state_name"] == "Scheduled"
    assert run["work_queue_id"] == dep["work_queue_id"] and run["work_queue_name"] == "default"
    assert run["work_pool_name"] == pool["name"] and run["job_variables"] == {"image": "python:3.11"}
    assert run["labels"]["prefect.deployment.id"] == dep["id"]
    assert client.get(f"/flow_runs/{run['id']}").json()["id"] == run["id"]

    # A pool worker polling over HTTP sees it.
    polled = client.post(f"/work_pools/{pool['name']}/get_scheduled_flow_runs", json={})
    assert run["id"] in {item["flow_run"]["id"] for item in polled.json()}


def test_deployment_job_variables_satisfy_required_for_its_runs(client: httpx.Client) -> None:
    pool = create_process_pool(client)
    dep = create_deployment(client, work_pool_name=pool["name"], job_variables={"image": "python:3.12"})
    assert client.post(f"/deployments/{dep['id']}/create_flow_run", json={}).status_code == 201
    wrong_type = client.post(f"/deployments/{dep['id']}/create_flow_run", json={"job_variables": {"memory": "x"}})
    assert wrong_type.status_code == 422


def test_create_flow_run_idempotency_and_parameter_schema(client: httpx.Client) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    dep = create_deployment(client, parameter_openapi_schema=schema, enforce_parameter_schema=True, parameters={"n": 1})
    first = client.post(f"/deployments/{dep['id']}/create_flow_run", json={"idempotency_key": "k1"})
    second = client.post(f"/deployments/{dep['id']}/create_flow_run", json={"idempotency_key": "k1"})
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    bad = client.post(f"/deployments/{dep['id']}/create_flow_run", json={"parameters": {"n": "one"}})
    assert bad.status_code == 409 and "Error creating flow run" in bad.json()["detail"]
    assert client.post(f"/deployments/{uuid.uuid4()}/create_flow_run", json={}).status_code == 404


def test_runner_polls_scheduled_runs_of_its_deployments(client: httpx.Client) -> None:
    dep = create_deployment(client)
    soon = client.post(f"/deployments/{dep['id']}/create_flow_run", json={}).json()
    later_time = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=2)).isoformat()
    later = client.post(
        f"/deployments/{dep['id']}/create_flow_run",
        json={"state": {"type": "SCHEDULED", "state_details": {"scheduled_time": later_time}}},
    ).json()
    before = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=10)).isoformat()
    polled = client.post(
        "/deployments/get_scheduled_flow_runs", json={"deployment_ids": [dep["id"]], "scheduled_before": before}
    )
    assert polled.status_code == 200
    ids = [r["id"] for r in polled.json()]
    assert soon["id"] in ids and later["id"] not in ids
    assert client.get(f"/deployments/{dep['id']}").json()["status"] == "READY"


@pytest.mark.parametrize(
    ("schedule", "needle"),
    [
        ({"cron": "not a cron"}, "cron"),
        ({"cron": "0 * * * *", "timezone": "Mars/Olympus"}, "Invalid timezone"),
        ({"interval": 0}, "interval"),
        ({"rrule": "FREQ=NEVER"}, "rrule"),
    ],
)
def test_bad_schedules_are_422_with_a_clear_message(
    client: httpx.Client, schedule: dict[str, Any], needle: str
) -> None:
    flow_id = create_flow_id(client)
    response = client.post(
        "/deployments/", json={"name": "bad-schedule", "flow_id": flow_id, "schedules": [{"schedule": schedule}]}
    )
    assert response.status_code == 422
    assert needle.lower() in response.text.lower()
    dep = create_deployment(client)
    sub = client.post(f"/deployments/{dep['id']}/schedules", json=[{"schedule": schedule}])
    assert sub.status_code == 422 and needle.lower() in sub.text.lower()
