"""/work_pools routes over HTTP against the local stack: pools, their queues and workers,
the pool's SQS queue, and the real prefect CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from typing import Any

import boto3
import httpx
import pytest
from prefect.client.schemas.objects import Worker as ClientWorker
from prefect.client.schemas.objects import WorkPool as ClientWorkPool
from prefect.client.schemas.objects import WorkQueue as ClientWorkQueue

from tests.api.work_pools_support import create_pool, ok, unique
from tests.e2e.prefect_env import prefect_env


def _queues(client: httpx.Client, pool: str) -> list[dict[str, Any]]:
    queues = ok(client.post(f"/work_pools/{pool}/queues/filter", json={}))
    for queue in queues:
        ClientWorkQueue.model_validate(queue)
    return queues


def _sqs(aws_endpoint_url: str) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=aws_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


# --- pools ---------------------------------------------------------------------------


def test_create_read_update_delete_pool(client: httpx.Client) -> None:
    pool = create_pool(client, description="d", concurrency_limit=3)
    ClientWorkPool.model_validate(pool)
    assert pool["status"] == "NOT_READY" and pool["active_slots"] == 0 and pool["type"] == "process"
    assert ok(client.get(f"/work_pools/{pool['name']}")) == pool

    assert (
        client.patch(f"/work_pools/{pool['name']}", json={"description": "new", "concurrency_limit": None}).status_code
        == 204
    )
    read = ok(client.get(f"/work_pools/{pool['name']}"))
    assert read["description"] == "new" and read["concurrency_limit"] is None and read["active_slots"] is None

    assert client.delete(f"/work_pools/{pool['name']}").status_code == 204
    missing = client.get(f"/work_pools/{pool['name']}")
    assert missing.status_code == 404 and missing.json() == {"detail": f'Work pool "{pool["name"]}" not found.'}
    assert client.delete(f"/work_pools/{pool['name']}").status_code == 404


def test_pool_gets_a_default_queue(client: httpx.Client) -> None:
    pool = create_pool(client)
    queues = _queues(client, pool["name"])
    assert [(q["name"], q["priority"], q["id"]) for q in queues] == [("default", 1, pool["default_queue_id"])]
    assert queues[0]["work_pool_name"] == pool["name"] and queues[0]["description"] == "The work pool's default queue."
    # A pool's default queue cannot be deleted.
    assert client.delete(f"/work_pools/{pool['name']}/queues/default").status_code == 409


def test_duplicate_and_reserved_names(client: httpx.Client) -> None:
    pool = create_pool(client)
    again = client.post("/work_pools/", json={"name": pool["name"], "type": "process"})
    assert again.status_code == 409 and again.json()["detail"] == "A work pool with this name already exists."
    reserved = client.post("/work_pools/", json={"name": "Prefect-managed-x", "type": "process"})
    assert reserved.status_code == 403
    assert client.post("/work_pools/", json={"name": "", "type": "process"}).status_code == 422
    assert client.post("/work_pools/", json={"name": unique("p"), "bogus": 1}).status_code == 422


def test_paused_pool_status_and_unpause(client: httpx.Client) -> None:
    pool = create_pool(client, is_paused=True)
    assert pool["status"] == "PAUSED"
    client.patch(f"/work_pools/{pool['name']}", json={"is_paused": False})
    assert ok(client.get(f"/work_pools/{pool['name']}"))["status"] == "NOT_READY"
    client.post(f"/work_pools/{pool['name']}/workers/heartbeat", json={"name": "w"})
    client.patch(f"/work_pools/{pool['name']}", json={"is_paused": True})
    assert ok(client.get(f"/work_pools/{pool['name']}"))["status"] == "PAUSED"
    # Unpausing with an online worker goes straight to READY.
    client.patch(f"/work_pools/{pool['name']}", json={"is_paused": False})
    assert ok(client.get(f"/work_pools/{pool['name']}"))["status"] == "READY"


def test_agent_pools_have_no_status(client: httpx.Client) -> None:
    pool = create_pool(client, type="prefect-agent")
    assert pool["status"] is None


def test_filter_and_count(client: httpx.Client) -> None:
    tag = unique("flt")
    a = create_pool(client, name=f"{tag}-a", type="docker")
    b = create_pool(client, name=f"{tag}-b", type="process")
    by_name = ok(client.post("/work_pools/filter", json={"work_pools": {"name": {"any_": [b["name"], a["name"]]}}}))
    assert [p["name"] for p in by_name] == [a["name"], b["name"]]
    by_id = ok(client.post("/work_pools/filter", json={"work_pools": {"id": {"any_": [a["id"]]}}}))
    assert [p["id"] for p in by_id] == [a["id"]]
    typed = ok(
        client.post(
            "/work_pools/filter",
            json={"work_pools": {"type": {"any_": ["docker"]}, "name": {"any_": [a["name"], b["name"]]}}},
        )
    )
    assert [p["name"] for p in typed] == [a["name"]]
    assert ok(client.post("/work_pools/count", json={"work_pools": {"name": {"any_": [a["name"], b["name"]]}}})) == 2
    everything = ok(client.post("/work_pools/filter", json={"limit": 200}))
    names = [p["name"] for p in everything]
    assert names == sorted(names) and {a["name"], b["name"]} <= set(names)
    assert ok(
        client.post("/work_pools/filter", json={"work_pools": {"name": {"any_": [a["name"], b["name"]]}}, "offset": 1})
    ) == [b]
    assert client.post("/work_pools/filter", json={"limit": 201}).status_code == 422


# --- the pool's queues -------------------------------------------------------------------


def test_pool_queue_crud_and_priorities(client: httpx.Client) -> None:
    pool = create_pool(client)["name"]
    low = ok(client.post(f"/work_pools/{pool}/queues", json={"name": "low"}), 201)
    assert low["priority"] == 2 and low["work_pool_name"] == pool and low["status"] == "NOT_READY"
    # An explicit priority takes that slot and pushes the others down, keeping their order.
    high = ok(
        client.post(f"/work_pools/{pool}/queues", json={"name": "high", "priority": 1, "concurrency_limit": 2}), 201
    )
    assert high["active_slots"] == 0
    assert [(q["name"], q["priority"]) for q in _queues(client, pool)] == [("high", 1), ("default", 2), ("low", 3)]

    assert client.post(f"/work_pools/{pool}/queues", json={"name": "low"}).status_code == 409
    assert client.get(f"/work_pools/{pool}/queues/nope").status_code == 404
    assert client.post("/work_pools/no-such-pool/queues", json={"name": "x"}).status_code == 404

    assert (
        client.patch(f"/work_pools/{pool}/queues/low", json={"priority": 1, "description": "now first"}).status_code
        == 204
    )
    assert [(q["name"], q["priority"]) for q in _queues(client, pool)] == [("low", 1), ("high", 2), ("default", 3)]
    assert ok(client.get(f"/work_pools/{pool}/queues/low"))["description"] == "now first"

    # Rename keeps the id; the old name is gone and the new one is unique within the pool.
    assert client.patch(f"/work_pools/{pool}/queues/low", json={"name": "renamed"}).status_code == 204
    renamed = ok(client.get(f"/work_pools/{pool}/queues/renamed"))
    assert renamed["id"] == low["id"] and renamed["priority"] == 1
    assert client.get(f"/work_pools/{pool}/queues/low").status_code == 404
    assert client.patch(f"/work_pools/{pool}/queues/renamed", json={"name": "high"}).status_code == 409

    filtered = ok(
        client.post(f"/work_pools/{pool}/queues/filter", json={"work_queues": {"name": {"startswith_": ["ren", "hi"]}}})
    )
    assert [q["name"] for q in filtered] == ["renamed", "high"]

    assert client.delete(f"/work_pools/{pool}/queues/renamed").status_code == 204
    assert [(q["name"], q["priority"]) for q in _queues(client, pool)] == [("high", 2), ("default", 3)]
    assert client.delete(f"/work_pools/{pool}/queues/renamed").status_code == 404


def test_same_queue_name_in_two_pools(client: httpx.Client) -> None:
    one, two = create_pool(client)["name"], create_pool(client)["name"]
    a = ok(client.post(f"/work_pools/{one}/queues", json={"name": "shared-name"}), 201)
    b = ok(client.post(f"/work_pools/{two}/queues", json={"name": "shared-name"}), 201)
    assert a["id"] != b["id"]


def test_pause_queue_status(client: httpx.Client) -> None:
    pool = create_pool(client)["name"]
    client.patch(f"/work_pools/{pool}/queues/default", json={"is_paused": True})
    assert ok(client.get(f"/work_pools/{pool}/queues/default"))["status"] == "PAUSED"
    # A poll neither un-pauses a queue nor marks it READY.
    ok(client.post(f"/work_pools/{pool}/get_scheduled_flow_runs", json={}))
    paused = ok(client.get(f"/work_pools/{pool}/queues/default"))
    assert paused["status"] == "PAUSED" and paused["last_polled"] is not None
    # Unpausing a queue polled within 60 s makes it READY.
    client.patch(f"/work_pools/{pool}/queues/default", json={"is_paused": False})
    assert ok(client.get(f"/work_pools/{pool}/queues/default"))["status"] == "READY"


# --- workers -------------------------------------------------------------------------------


def test_heartbeat_makes_worker_online_and_pool_ready(client: httpx.Client) -> None:
    pool = create_pool(client)
    name = pool["name"]
    hb = client.post(f"/work_pools/{name}/workers/heartbeat", json={"name": "w-1", "heartbeat_interval_seconds": 15})
    assert hb.status_code == 204 and hb.content == b""
    client.post(f"/work_pools/{name}/workers/heartbeat", json={"name": "w-2"})
    workers = ok(client.post(f"/work_pools/{name}/workers/filter", json={}))
    for worker in workers:
        ClientWorker.model_validate(worker)
    assert [w["name"] for w in workers] == ["w-2", "w-1"]  # newest heartbeat first
    assert {w["status"] for w in workers} == {"ONLINE"}
    assert workers[1]["heartbeat_interval_seconds"] == 15 and workers[0]["work_pool_id"] == pool["id"]
    assert ok(client.get(f"/work_pools/{name}"))["status"] == "READY"

    # A later heartbeat without an interval keeps the one the worker gave before.
    client.post(f"/work_pools/{name}/workers/heartbeat", json={"name": "w-1"})
    again = {w["name"]: w for w in ok(client.post(f"/work_pools/{name}/workers/filter", json={}))}
    assert again["w-1"]["heartbeat_interval_seconds"] == 15 and again["w-1"]["id"] == workers[1]["id"]

    online = ok(client.post(f"/work_pools/{name}/workers/filter", json={"workers": {"status": {"any_": ["OFFLINE"]}}}))
    assert online == []
    assert client.delete(f"/work_pools/{name}/workers/w-2").status_code == 204
    gone = client.delete(f"/work_pools/{name}/workers/w-2")
    assert gone.status_code == 404 and gone.json() == {"detail": "Worker not found."}
    assert [w["name"] for w in ok(client.post(f"/work_pools/{name}/workers/filter", json={}))] == ["w-1"]
    assert client.post("/work_pools/nope-pool/workers/heartbeat", json={"name": "w"}).status_code == 404


# --- the pool's SQS queue -------------------------------------------------------------


def test_pool_sqs_queue_redrives_to_the_dead_letter_queue(client: httpx.Client, aws_endpoint_url: str) -> None:
    pool = create_pool(client)
    sqs = _sqs(aws_endpoint_url)
    url = sqs.get_queue_url(QueueName=f"serverflow-pool-{pool['id']}")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    dlq_url = sqs.get_queue_url(QueueName="serverflow-WorkPoolDeadLetterQueue")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert redrive["deadLetterTargetArn"] == dlq_arn and int(redrive["maxReceiveCount"]) == 5
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"]["serverflow:work-pool"] == pool["name"]

    client.delete(f"/work_pools/{pool['name']}")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=f"serverflow-pool-{pool['id']}")


# --- the real prefect client --------------------------------------------------------------


def _prefect(api_url: str, home: str, *args: str) -> subprocess.CompletedProcess[str]:
    cli = [sys.executable, "-c", "from prefect.cli import app; app()", *args]
    return subprocess.run(
        cli, env={**prefect_env(api_url, home), "COLUMNS": "250"}, capture_output=True, text=True, timeout=120
    )


def test_prefect_cli_creates_and_lists_a_pool(client: httpx.Client, api_url: str) -> None:
    name = unique("cli-pool")
    with tempfile.TemporaryDirectory(prefix="prefect-home-") as home:
        created = _prefect(api_url, home, "work-pool", "create", name, "--type", "process")
        assert created.returncode == 0, created.stdout + created.stderr
        listed = _prefect(api_url, home, "work-pool", "ls")
        assert listed.returncode == 0, listed.stdout + listed.stderr
        inspected = _prefect(api_url, home, "work-pool", "inspect", name)
        assert inspected.returncode == 0, inspected.stdout + inspected.stderr
    assert name in listed.stdout
    pool = ok(client.get(f"/work_pools/{name}"))
    # The CLI filled in the process worker's default base job template from our bundled view.
    assert pool["type"] == "process" and "command" in pool["base_job_template"]["job_configuration"]


def test_collections_view(client: httpx.Client) -> None:
    view = ok(client.get("/collections/views/aggregate-worker-metadata"))
    assert "process" in view["prefect"]
    assert client.get("/collections/views/unknown").status_code == 404


def test_real_prefect_worker_creates_its_pool_heartbeats_and_polls(client: httpx.Client, api_url: str) -> None:
    name = unique("worker-pool")
    with tempfile.TemporaryDirectory(prefix="prefect-home-") as home:
        started = _prefect(api_url, home, "worker", "start", "--pool", name, "--type", "process", "--run-once")
    assert started.returncode == 0, started.stdout + started.stderr
    pool = ok(client.get(f"/work_pools/{name}"))
    # The worker PATCHed the pool's empty base job template with its own default.
    assert pool["status"] == "READY" and "command" in pool["base_job_template"]["job_configuration"]
    [worker] = ok(client.post(f"/work_pools/{name}/workers/filter", json={}))
    assert worker["status"] == "ONLINE" and worker["heartbeat_interval_seconds"] == 30
    assert ok(client.get(f"/work_pools/{name}/queues/default"))["last_polled"] is not None
