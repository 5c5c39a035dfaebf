"""Handing runs to workers: get_scheduled_flow_runs (priorities, limits, pauses), SQS dispatch
with DelaySeconds, and worker expiry through the scheduled Lambda handler."""

from __future__ import annotations

import datetime
import importlib
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from prefect.client.schemas.responses import WorkerFlowRunResponse as ClientWorkerFlowRunResponse

from infra.local.schedules import ScheduledFunction, scheduled_event, scheduled_functions
from tests.api.work_pools_support import create_flow, create_pool, iso, now, ok, scheduled_run, stack_aws_env


@pytest.fixture(scope="module")
def in_stack(aws_endpoint_url: str) -> Iterator[str]:
    with stack_aws_env(aws_endpoint_url):
        yield aws_endpoint_url


@pytest.fixture
def flow_id(client: httpx.Client) -> str:
    return create_flow(client)


def _poll(client: httpx.Client, pool: str, **body: Any) -> list[dict[str, Any]]:
    body.setdefault("scheduled_before", iso(now() + datetime.timedelta(seconds=10)))
    responses = ok(client.post(f"/work_pools/{pool}/get_scheduled_flow_runs", json=body))
    for item in responses:
        ClientWorkerFlowRunResponse.model_validate(item)
    return responses


def _queue(client: httpx.Client, pool: str, name: str, **body: Any) -> dict[str, Any]:
    return ok(client.post(f"/work_pools/{pool}/queues", json={"name": name, **body}), 201)


def _default(client: httpx.Client, pool: str) -> dict[str, Any]:
    return ok(client.get(f"/work_pools/{pool}/queues/default"))


def _set_state(client: httpx.Client, run_id: str, state_type: str) -> None:
    body = {"state": {"type": state_type, "name": state_type.title()}, "force": True}
    assert client.post(f"/flow_runs/{run_id}/set_state", json=body).status_code in (200, 201)


# --- get_scheduled_flow_runs ---------------------------------------------------------------


def test_returns_due_runs_soonest_first_and_marks_queue_ready(
    client: httpx.Client, in_stack: str, flow_id: str
) -> None:
    pool = create_pool(client)
    default = _default(client, pool["name"])
    t0 = now()
    later = scheduled_run(client, in_stack, flow_id, pool, default, t0 - datetime.timedelta(seconds=5))
    sooner = scheduled_run(client, in_stack, flow_id, pool, default, t0 - datetime.timedelta(seconds=30))
    future = scheduled_run(client, in_stack, flow_id, pool, default, t0 + datetime.timedelta(hours=1))
    running = scheduled_run(client, in_stack, flow_id, pool, default, t0 - datetime.timedelta(seconds=60))
    _set_state(client, running["id"], "RUNNING")

    got = _poll(client, pool["name"])
    assert [g["flow_run"]["id"] for g in got] == [sooner["id"], later["id"]]
    assert {(g["work_pool_id"], g["work_queue_id"]) for g in got} == {(pool["id"], default["id"])}
    # The window: scheduled_after / scheduled_before, and limit.
    after = _poll(client, pool["name"], scheduled_after=iso(t0 - datetime.timedelta(seconds=10)))
    assert [g["flow_run"]["id"] for g in after] == [later["id"]]
    everything = _poll(client, pool["name"], scheduled_before=iso(t0 + datetime.timedelta(hours=2)))
    assert [g["flow_run"]["id"] for g in everything] == [sooner["id"], later["id"], future["id"]]
    assert len(_poll(client, pool["name"], limit=1)) == 1

    polled = _default(client, pool["name"])
    assert polled["status"] == "READY" and polled["last_polled"] is not None


def test_queue_priorities_order_the_runs(client: httpx.Client, in_stack: str, flow_id: str) -> None:
    pool = create_pool(client)
    name = pool["name"]
    urgent = _queue(client, name, "urgent", priority=1)  # default becomes priority 2
    default = _default(client, name)
    t0 = now()
    old_default = scheduled_run(client, in_stack, flow_id, pool, default, t0 - datetime.timedelta(minutes=5))
    new_urgent = scheduled_run(client, in_stack, flow_id, pool, urgent, t0 - datetime.timedelta(seconds=5))
    got = _poll(client, name)
    assert [g["flow_run"]["id"] for g in got] == [new_urgent["id"], old_default["id"]]
    assert [g["work_queue_id"] for g in got] == [urgent["id"], default["id"]]
    # Only the named queues when work_queue_names is given.
    only_default = _poll(client, name, work_queue_names=["default"])
    assert [g["flow_run"]["id"] for g in only_default] == [old_default["id"]]
    assert (
        client.post(f"/work_pools/{name}/get_scheduled_flow_runs", json={"work_queue_names": ["nope"]}).status_code
        == 404
    )


def test_queue_concurrency_limit(client: httpx.Client, in_stack: str, flow_id: str) -> None:
    pool = create_pool(client)
    limited = _queue(client, pool["name"], "limited", concurrency_limit=2)
    runs = [
        scheduled_run(client, in_stack, flow_id, pool, limited, now() - datetime.timedelta(seconds=40 - i))
        for i in range(4)
    ]
    assert [g["flow_run"]["id"] for g in _poll(client, pool["name"])] == [r["id"] for r in runs[:2]]
    _set_state(client, runs[0]["id"], "RUNNING")
    assert [g["flow_run"]["id"] for g in _poll(client, pool["name"])] == [runs[1]["id"]]
    assert ok(client.get(f"/work_pools/{pool['name']}/queues/limited"))["active_slots"] == 1
    _set_state(client, runs[1]["id"], "PENDING")
    assert _poll(client, pool["name"]) == []
    _set_state(client, runs[0]["id"], "COMPLETED")
    assert [g["flow_run"]["id"] for g in _poll(client, pool["name"])] == [runs[2]["id"]]


def test_pool_concurrency_limit_spans_queues(client: httpx.Client, in_stack: str, flow_id: str) -> None:
    pool = create_pool(client, concurrency_limit=2)
    other = _queue(client, pool["name"], "other")
    default = _default(client, pool["name"])
    busy = scheduled_run(client, in_stack, flow_id, pool, other, now() - datetime.timedelta(seconds=50))
    _set_state(client, busy["id"], "RUNNING")
    waiting = [
        scheduled_run(client, in_stack, flow_id, pool, default, now() - datetime.timedelta(seconds=30 - i))
        for i in range(3)
    ]
    assert [g["flow_run"]["id"] for g in _poll(client, pool["name"])] == [waiting[0]["id"]]
    assert ok(client.get(f"/work_pools/{pool['name']}"))["active_slots"] == 1


def test_paused_pool_or_queue_sends_nothing(client: httpx.Client, in_stack: str, flow_id: str) -> None:
    pool = create_pool(client)
    name = pool["name"]
    side = _queue(client, name, "side")
    default = _default(client, name)
    in_default = scheduled_run(client, in_stack, flow_id, pool, default)
    in_side = scheduled_run(client, in_stack, flow_id, pool, side)

    client.patch(f"/work_pools/{name}/queues/side", json={"is_paused": True})
    assert [g["flow_run"]["id"] for g in _poll(client, name)] == [in_default["id"]]
    client.patch(f"/work_pools/{name}", json={"is_paused": True})
    assert _poll(client, name) == []
    client.patch(f"/work_pools/{name}", json={"is_paused": False})
    client.patch(f"/work_pools/{name}/queues/side", json={"is_paused": False})
    assert {g["flow_run"]["id"] for g in _poll(client, name)} == {in_default["id"], in_side["id"]}


# --- SQS dispatch ---------------------------------------------------------------------------


def _receive_all(sqs: Any, url: str, wait: float) -> list[dict[str, Any]]:
    deadline, got = time.monotonic() + wait, []
    while time.monotonic() < deadline:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        )
        got.extend(batch.get("Messages", []))
    return got


def test_enqueue_flow_run_sets_delay_seconds(client: httpx.Client, in_stack: str, flow_id: str) -> None:
    from shared.dispatch import enqueue_flow_run, messages
    from shared.schemas.flow_runs import FlowRun
    from shared.storage import work_pools as pool_store

    pool_json = create_pool(client)
    pool = pool_store.read_by_name_or_404(pool_json["name"])
    default = _default(client, pool.name)
    t0 = now()
    due = FlowRun.model_validate(
        scheduled_run(client, in_stack, flow_id, pool_json, default, t0 - datetime.timedelta(seconds=5))
    )
    soon = FlowRun.model_validate(
        scheduled_run(client, in_stack, flow_id, pool_json, default, t0 + datetime.timedelta(seconds=3))
    )
    far = FlowRun.model_validate(
        scheduled_run(client, in_stack, flow_id, pool_json, default, t0 + datetime.timedelta(hours=1))
    )

    # The pure rule: 0 when due, seconds until due (rounded up) within 15 minutes, capped at 900.
    assert messages.delay_seconds(t0 - datetime.timedelta(seconds=5), t0) == 0
    assert messages.delay_seconds(t0 + datetime.timedelta(seconds=2.2), t0) == 3
    assert messages.delay_seconds(t0 + datetime.timedelta(microseconds=150), t0) == 0  # "now", stamped a bit later
    assert messages.delay_seconds(t0 + datetime.timedelta(minutes=20), t0) == 900
    request = messages.send_message_request(soon, pool, None, t0)
    assert request["DelaySeconds"] == 3 and json.loads(request["MessageBody"])["flow_run_id"] == str(soon.id)

    assert enqueue_flow_run(due, pool, now=t0) is not None
    assert enqueue_flow_run(soon, pool, now=t0) is not None
    assert enqueue_flow_run(far, pool, now=t0) is None  # the scheduler sends it once within 15 minutes

    sqs = boto3.client("sqs", endpoint_url=in_stack, region_name="us-east-1")
    first = _receive_all(sqs, pool.sqs_queue_url or "", wait=1.5)
    # Creating a SCHEDULED run in a pool already sent a hint; hints are at-least-once, so compare ids.
    assert {json.loads(m["Body"])["flow_run_id"] for m in first} == {str(due.id)}
    body = json.loads(first[0]["Body"])
    assert body["work_pool_name"] == pool.name and body["work_queue_id"] == default["id"]
    assert first[0]["MessageAttributes"]["flow_run_id"]["StringValue"] == str(due.id)
    delayed = _receive_all(sqs, pool.sqs_queue_url or "", wait=4)
    assert {json.loads(m["Body"])["flow_run_id"] for m in delayed} == {str(soon.id)}


def test_paused_pool_enqueues_nothing(client: httpx.Client, in_stack: str, flow_id: str) -> None:
    from shared.dispatch import enqueue_for_run
    from shared.schemas.flow_runs import FlowRun

    pool = create_pool(client)
    run = FlowRun.model_validate(scheduled_run(client, in_stack, flow_id, pool, _default(client, pool["name"])))
    client.patch(f"/work_pools/{pool['name']}/queues/default", json={"is_paused": True})
    assert enqueue_for_run(run) is None
    client.patch(f"/work_pools/{pool['name']}/queues/default", json={"is_paused": False})
    client.patch(f"/work_pools/{pool['name']}", json={"is_paused": True})
    assert enqueue_for_run(run) is None
    client.patch(f"/work_pools/{pool['name']}", json={"is_paused": False})
    assert enqueue_for_run(run) is not None


# --- worker expiry (the scheduled Lambda) ---------------------------------------------------


def _expiry_function() -> ScheduledFunction:
    [function] = [f for f in scheduled_functions() if f.logical_id == "WorkerExpiryFunction"]
    assert function.every_seconds == 60
    return function


def _invoke_expiry() -> dict[str, int]:
    function = _expiry_function()
    module, attr = function.handler.rsplit(".", 1)
    handler = getattr(importlib.import_module(module), attr)
    return handler(scheduled_event(function), None)


def test_worker_expiry_marks_workers_offline_and_pool_not_ready(client: httpx.Client, in_stack: str) -> None:
    pool = create_pool(client)
    name = pool["name"]
    client.post(f"/work_pools/{name}/workers/heartbeat", json={"name": "short", "heartbeat_interval_seconds": 1})
    client.post(f"/work_pools/{name}/workers/heartbeat", json={"name": "long", "heartbeat_interval_seconds": 600})
    ok(client.post(f"/work_pools/{name}/get_scheduled_flow_runs", json={}))
    assert ok(client.get(f"/work_pools/{name}"))["status"] == "READY"
    time.sleep(3.2)  # 1 s interval x 3 missed heartbeats

    # Reads already report the computed status, before the expiry function persists it.
    statuses = {w["name"]: w["status"] for w in ok(client.post(f"/work_pools/{name}/workers/filter", json={}))}
    assert statuses == {"short": "OFFLINE", "long": "ONLINE"}
    # (The stack's own ticker may run the same function meanwhile: assert outcomes, not counts.)
    _invoke_expiry()
    assert ok(client.get(f"/work_pools/{name}"))["status"] == "READY"  # "long" is still online

    client.delete(f"/work_pools/{name}/workers/long")
    _invoke_expiry()
    assert ok(client.get(f"/work_pools/{name}"))["status"] == "NOT_READY"
    offline = ok(client.post(f"/work_pools/{name}/workers/filter", json={"workers": {"status": {"any_": ["OFFLINE"]}}}))
    assert [w["name"] for w in offline] == ["short"]
    # A heartbeat brings both back.
    client.post(f"/work_pools/{name}/workers/heartbeat", json={"name": "short", "heartbeat_interval_seconds": 1})
    assert ok(client.get(f"/work_pools/{name}"))["status"] == "READY"


def test_worker_expiry_marks_unpolled_queues_not_ready(client: httpx.Client, in_stack: str) -> None:
    from shared.storage import workers as worker_store

    pool = create_pool(client)
    ok(client.post(f"/work_pools/{pool['name']}/get_scheduled_flow_runs", json={}))
    assert _default(client, pool["name"])["status"] == "READY"
    # Evaluate expiry as of two minutes from now: nobody polled within 60 s by then.
    worker_store.expire(now=now() + datetime.timedelta(minutes=2))
    assert _default(client, pool["name"])["status"] == "NOT_READY"


def test_expiry_handler_accepts_an_eventbridge_event(in_stack: str) -> None:
    event = scheduled_event(_expiry_function())
    event["id"] = str(uuid.uuid4())
    module = importlib.import_module("functions.worker_expiry.handler")
    assert {"workers_offline", "pools_not_ready", "queues_not_ready", "runs_crashed"} <= set(
        module.handler(event, None)
    )


def _deployment(client: httpx.Client, flow_id: str, pool: str, queue: str) -> dict[str, Any]:
    body = {"name": f"dep-{uuid.uuid4().hex[:8]}", "flow_id": flow_id, "work_pool_name": pool, "work_queue_name": queue}
    return ok(client.post("/deployments/", json=body), 201)


def _deployment_events(client: httpx.Client, deployment_id: str) -> list[dict[str, Any]]:
    window = {"since": iso(now() - datetime.timedelta(minutes=5)), "until": iso(now() + datetime.timedelta(minutes=5))}
    body = {
        "filter": {
            "occurred": window,
            "resource": {"id": [f"prefect.deployment.{deployment_id}"]},
            "event": {"prefix": ["prefect.deployment."]},
        },
        "limit": 50,
    }
    return sorted(ok(client.post("/events/filter", json=body))["events"], key=lambda e: e["occurred"])


def test_polls_mark_deployments_ready_and_expiry_marks_them_not_ready(
    client: httpx.Client, in_stack: str, flow_id: str
) -> None:
    from shared.storage import workers as worker_store

    pool = create_pool(client)
    name = pool["name"]
    other = _queue(client, name, "other")
    in_default, in_other = _deployment(client, flow_id, name, "default"), _deployment(client, flow_id, name, "other")
    assert in_default["status"] == in_other["status"] == "NOT_READY"

    # A worker polling only the default queue readies only that queue's deployment; twice, one event.
    for _ in range(2):
        _poll(client, name, work_queue_names=["default"])
    ready = ok(client.get(f"/deployments/{in_default['id']}"))
    assert ready["status"] == "READY" and ready["last_polled"] is not None
    assert ok(client.get(f"/deployments/{in_other['id']}"))["status"] == "NOT_READY"
    # A poll of the queue itself (the work-queue path) readies the other one.
    ok(client.post(f"/work_queues/{other['id']}/get_runs", json={}))
    assert ok(client.get(f"/deployments/{in_other['id']}"))["status"] == "READY"
    assert [e["event"] for e in _deployment_events(client, in_default["id"])] == ["prefect.deployment.ready"]

    # The foreman, as of two minutes from now: neither the deployments nor their queues were polled within 60 s.
    worker_store.expire(now=now() + datetime.timedelta(minutes=2))
    for deployment in (in_default, in_other):
        assert ok(client.get(f"/deployments/{deployment['id']}"))["status"] == "NOT_READY"
    events = _deployment_events(client, in_other["id"])
    assert [e["event"] for e in events] == ["prefect.deployment.ready", "prefect.deployment.not-ready"]
    assert events[-1]["resource"]["prefect.resource.name"] == in_other["name"]
    related = {r["prefect.resource.role"]: r for r in events[-1]["related"]}
    assert related["flow"]["prefect.resource.id"] == f"prefect.flow.{flow_id}"
    assert related["work-queue"]["prefect.resource.name"] == "other"
    assert (
        related["work-pool"]["prefect.resource.name"] == name
        and related["work-pool"]["prefect.work-pool.type"] == "process"
    )
