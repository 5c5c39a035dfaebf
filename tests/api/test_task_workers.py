"""POST /task_workers/filter over HTTP, reading the task-worker registry in the table (written in
this test the way the background-task subscription writes it)."""

from __future__ import annotations

import datetime
import uuid

import httpx

from shared.storage import task_workers as task_worker_store
from tests.aws_env import stack_aws_env


def test_filter_lists_recently_observed_workers_by_task_key(client: httpx.Client, aws_endpoint_url: str) -> None:
    a, b, stale = (f"worker-{uuid.uuid4().hex[:8]}" for _ in range(3))
    key_x, key_y = f"tasks.x-{uuid.uuid4().hex[:6]}", f"tasks.y-{uuid.uuid4().hex[:6]}"
    with stack_aws_env(aws_endpoint_url):
        task_worker_store.observe(a, [key_x])
        task_worker_store.observe(a, [key_y])  # keys accumulate, as the reference's tracker
        task_worker_store.observe(b, [key_y])
        long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
        task_worker_store.observe(stale, [key_x], now=long_ago)

    everyone = client.post("/task_workers/filter", json={})
    assert everyone.status_code == 200, everyone.text
    listed = {w["identifier"]: w for w in everyone.json()}
    assert a in listed and b in listed and stale not in listed
    assert sorted(listed[a]["task_keys"]) == sorted([key_x, key_y])
    assert datetime.datetime.fromisoformat(listed[a]["timestamp"]) > long_ago

    by_x = client.post("/task_workers/filter", json={"task_worker_filter": {"task_keys": [key_x]}}).json()
    assert [w["identifier"] for w in by_x] == [a]
    by_y = client.post("/task_workers/filter", json={"task_worker_filter": {"task_keys": [key_y]}}).json()
    assert sorted(w["identifier"] for w in by_y) == sorted([a, b])
    # no keys: every active worker, as the reference
    assert {
        w["identifier"]
        for w in client.post("/task_workers/filter", json={"task_worker_filter": {"task_keys": []}}).json()
    } >= {a, b}

    with stack_aws_env(aws_endpoint_url):
        task_worker_store.forget(a)
    after = {w["identifier"] for w in client.post("/task_workers/filter").json()}
    assert a not in after and b in after


def test_filter_bad_input_is_422(client: httpx.Client) -> None:
    assert client.post("/task_workers/filter", json={"task_worker_filter": {}}).status_code == 422
    assert client.post("/task_workers/filter", json={"task_worker_filter": {"task_keys": "x"}}).status_code == 422
