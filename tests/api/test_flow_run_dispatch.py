"""POST /flow_runs/ naming a work pool places the run in the pool's queue and wakes its workers via SQS."""

from __future__ import annotations

import json

import httpx

from tests.api.work_pools_support import create_pool, ok, unique
from tests.aws_env import emulator_client


def _receive(aws_endpoint_url: str, pool_id: str) -> list[dict]:
    sqs = emulator_client("sqs", aws_endpoint_url)
    url = sqs.get_queue_url(QueueName=f"serverflow-pool-{pool_id}")["QueueUrl"]
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])


def test_scheduled_run_created_in_a_pool_is_sent_to_its_queue(client: httpx.Client, aws_endpoint_url: str) -> None:
    pool = create_pool(client)
    flow = ok(client.post("/flows/", json={"name": unique("dispatch-flow")}), 201)
    run = ok(
        client.post(
            "/flow_runs/",
            json={
                "flow_id": flow["id"],
                "work_pool_name": pool["name"],
                "state": {"type": "SCHEDULED", "name": "Scheduled"},
            },
        ),
        201,
    )
    assert run["work_queue_name"] == "default"
    assert run["work_queue_id"] == pool["default_queue_id"]
    assert (run["work_pool_id"], run["work_pool_name"]) == (pool["id"], pool["name"])
    bodies = [json.loads(m["Body"]) for m in _receive(aws_endpoint_url, pool["id"])]
    assert any(str(body.get("flow_run_id")) == run["id"] for body in bodies), bodies


def test_unknown_work_pool_is_a_404(client: httpx.Client) -> None:
    flow = ok(client.post("/flows/", json={"name": unique("dispatch-flow")}), 201)
    response = client.post("/flow_runs/", json={"flow_id": flow["id"], "work_pool_name": "no-such-pool"})
    assert response.status_code == 404, response.text
