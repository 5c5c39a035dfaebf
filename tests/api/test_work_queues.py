"""/work_queues routes (id-addressed queues) over HTTP against the local stack."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator

import httpx
import pytest
from prefect.client.schemas.objects import FlowRun as ClientFlowRun
from prefect.client.schemas.objects import WorkQueue as ClientWorkQueue
from prefect.client.schemas.objects import WorkQueueStatusDetail as ClientWorkQueueStatusDetail

from tests.api.work_pools_support import create_flow, create_pool, iso, now, ok, scheduled_run, stack_aws_env, unique


@pytest.fixture(scope="module")
def in_stack(aws_endpoint_url: str) -> Iterator[str]:
    with stack_aws_env(aws_endpoint_url):
        yield aws_endpoint_url


def test_read_update_delete_by_id(client: httpx.Client) -> None:
    pool = create_pool(client)
    queue = ok(client.post(f"/work_pools/{pool['name']}/queues", json={"name": "q", "concurrency_limit": 4}), 201)
    read = ok(client.get(f"/work_queues/{queue['id']}"))
    ClientWorkQueue.model_validate(read)
    assert read["name"] == "q" and read["work_pool_id"] == pool["id"] and read["active_slots"] == 0

    assert (
        client.patch(f"/work_queues/{queue['id']}", json={"is_paused": True, "description": "held"}).status_code == 204
    )
    paused = ok(client.get(f"/work_queues/{queue['id']}"))
    assert paused["is_paused"] is True and paused["status"] == "PAUSED" and paused["description"] == "held"
    assert client.patch(f"/work_queues/{queue['id']}", json={"is_paused": False}).status_code == 204
    assert ok(client.get(f"/work_queues/{queue['id']}"))["status"] == "NOT_READY"  # never polled

    assert client.delete(f"/work_queues/{queue['id']}").status_code == 204
    gone = client.get(f"/work_queues/{queue['id']}")
    assert gone.status_code == 404 and gone.json() == {"detail": "work queue not found"}
    assert client.patch(f"/work_queues/{queue['id']}", json={}).status_code == 404
    assert client.delete(f"/work_queues/{queue['id']}").status_code == 404
    assert client.delete(f"/work_queues/{pool['default_queue_id']}").status_code == 409
    assert client.get("/work_queues/not-a-uuid").status_code == 422


def test_flat_create_uses_the_default_agent_pool(client: httpx.Client) -> None:
    name = unique("legacy")
    queue = ok(client.post("/work_queues/", json={"name": name, "priority": 1}), 201)
    assert queue["work_pool_name"] == "default-agent-pool"
    agent_pool = ok(client.get("/work_pools/default-agent-pool"))
    assert agent_pool["type"] == "prefect-agent" and agent_pool["status"] is None
    assert client.post("/work_queues/", json={"name": name}).status_code == 409
    by_name = ok(client.get(f"/work_queues/name/{name}"))
    assert by_name["id"] == queue["id"]
    assert client.get(f"/work_queues/name/{unique('missing')}").status_code == 404


def test_filter_across_pools(client: httpx.Client) -> None:
    one, two = create_pool(client), create_pool(client)
    tag = unique("fq")
    a = ok(client.post(f"/work_pools/{one['name']}/queues", json={"name": f"{tag}-b"}), 201)
    b = ok(client.post(f"/work_pools/{two['name']}/queues", json={"name": f"{tag}-a"}), 201)
    by_name = ok(client.post("/work_queues/filter", json={"work_queues": {"name": {"any_": [a["name"], b["name"]]}}}))
    assert [q["id"] for q in by_name] == [b["id"], a["id"]]  # name order
    by_id = ok(client.post("/work_queues/filter", json={"work_queues": {"id": {"any_": [a["id"]]}}}))
    assert [q["id"] for q in by_id] == [a["id"]]
    prefix = ok(client.post("/work_queues/filter", json={"work_queues": {"name": {"startswith_": [tag]}}}))
    assert [q["id"] for q in prefix] == [b["id"], a["id"]]
    page = ok(
        client.post(
            "/work_queues/filter", json={"work_queues": {"name": {"startswith_": [tag]}}, "offset": 1, "limit": 1}
        )
    )
    assert [q["id"] for q in page] == [a["id"]]


def test_get_runs_and_status(client: httpx.Client, in_stack: str) -> None:
    pool = create_pool(client)
    queue = ok(client.post(f"/work_pools/{pool['name']}/queues", json={"name": "runs", "concurrency_limit": 2}), 201)
    flow_id = create_flow(client)
    # Due a few seconds ago, well inside the 15 s after which the stack's late-runs tick (once a minute) would
    # mark them Late and the queue unhealthy (seen once in a clean-clone run with 30 s).
    runs = [
        scheduled_run(client, in_stack, flow_id, pool, queue, now() - datetime.timedelta(seconds=3 - i))
        for i in range(3)
    ]
    later = scheduled_run(client, in_stack, flow_id, pool, queue, now() + datetime.timedelta(hours=1))

    # The UI looks without counting as a poll.
    ui = ok(client.post(f"/work_queues/{queue['id']}/get_runs", json={}, headers={"x-prefect-ui": "true"}))
    assert ok(client.get(f"/work_queues/{queue['id']}"))["last_polled"] is None
    assert [r["id"] for r in ui] == [runs[0]["id"], runs[1]["id"]]  # the queue's limit of 2

    got = ok(client.post(f"/work_queues/{queue['id']}/get_runs", json={"scheduled_before": iso(now()), "limit": 1}))
    ClientFlowRun.model_validate(got[0])
    assert [r["id"] for r in got] == [runs[0]["id"]]
    assert later["id"] not in {r["id"] for r in ui}
    assert ok(client.get(f"/work_queues/{queue['id']}"))["status"] == "READY"

    status = ok(client.get(f"/work_queues/{queue['id']}/status"))
    ClientWorkQueueStatusDetail.model_validate(status)
    assert status["healthy"] is True and status["late_runs_count"] == 0
    assert status["health_check_policy"] == {"maximum_late_runs": 0, "maximum_seconds_since_last_polled": 60}
    assert client.get(f"/work_queues/{uuid.uuid4()}/status").status_code == 404

    client.patch(f"/work_queues/{queue['id']}", json={"is_paused": True})
    assert ok(client.post(f"/work_queues/{queue['id']}/get_runs", json={})) == []
