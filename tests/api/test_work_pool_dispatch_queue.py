"""GET /work_pools/{name}/dispatch_queue: where a pool's runs are announced (Serverflow's addition for workers)."""

from __future__ import annotations

import uuid

import boto3
import httpx


def test_dispatch_queue_names_the_pools_existing_queue_and_the_local_endpoint(
    client: httpx.Client, aws_endpoint_url: str
) -> None:
    name = f"dq-pool-{uuid.uuid4().hex[:8]}"
    pool = client.post("/work_pools/", json={"name": name, "type": "process"}).json()
    response = client.get(f"/work_pools/{name}/dispatch_queue")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["endpoint_url"] == aws_endpoint_url and body["emulated"] is True
    assert body["queue_url"].endswith(f"-pool-{pool['id']}")
    sqs = boto3.client(
        "sqs",
        endpoint_url=body["endpoint_url"],
        region_name=body["region"],
        aws_access_key_id="any",
        aws_secret_access_key="any",
    )
    assert "QueueArn" in sqs.get_queue_attributes(QueueUrl=body["queue_url"], AttributeNames=["QueueArn"])["Attributes"]


def test_dispatch_queue_of_an_unknown_pool_is_404(client: httpx.Client) -> None:
    response = client.get(f"/work_pools/no-such-{uuid.uuid4().hex[:6]}/dispatch_queue")
    assert response.status_code == 404
    assert "not found" in response.json()["detail"]
