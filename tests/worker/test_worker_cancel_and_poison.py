"""A long-running worker: cancellation kills the flow's process (-> CANCELLED); poison messages go to the
dead-letter queue while the worker keeps running other runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.worker.support import (
    create_deployment,
    create_pool,
    create_run,
    dead_letter_bodies,
    hint_body,
    ok,
    pool_queue_url,
    read_run,
    sqs,
    start_worker,
    stop,
    wait_for,
    wait_for_state,
    worker_env,
)


@pytest.fixture
def running_worker(
    client: httpx.Client, api_url: str, aws_endpoint_url: str, tmp_path: Path
) -> Iterator[tuple[dict, dict, Path]]:
    pool = create_pool(client)
    deployment = create_deployment(client, pool["name"], tmp_path / "project")
    log = tmp_path / "worker.log"
    worker = start_worker(pool["name"], worker_env(api_url, aws_endpoint_url, tmp_path), log)
    try:
        yield pool, deployment, log
    finally:
        assert stop(worker) == 0, log.read_text()[-3000:]


def test_cancelling_a_running_run_kills_its_process_and_ends_cancelled(
    client: httpx.Client, running_worker: tuple, tmp_path: Path
) -> None:
    _pool, deployment, log = running_worker
    marker = tmp_path / "started.txt"
    run = create_run(client, deployment["id"], sleep=120, marker=str(marker))
    wait_for_state(client, run["id"], "RUNNING", timeout=30)
    wait_for(marker.exists, timeout=30)
    pid = int(read_run(client, run["id"])["infrastructure_pid"].rsplit(":", 1)[1])

    cancel = ok(
        client.post(f"/flow_runs/{run['id']}/set_state", json={"state": {"type": "CANCELLING", "name": "Cancelling"}})
    )
    assert cancel["status"] == "ACCEPT"
    final = wait_for_state(client, run["id"], "CANCELLED", timeout=30)
    assert final["state_name"] == "Cancelled"
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
    output = log.read_text()
    assert "cancellation requested" in output and f"({run['id']})" in output
    # The worker is still serving the pool.
    after = create_run(client, deployment["id"], x=5)
    assert wait_for_state(client, after["id"], "COMPLETED", timeout=30)


def test_poison_messages_reach_the_dead_letter_queue_and_the_worker_keeps_going(
    client: httpx.Client, running_worker: tuple, aws_endpoint_url: str
) -> None:
    pool, deployment, log = running_worker
    queue_url = pool_queue_url(aws_endpoint_url, pool)
    tag = uuid.uuid4().hex
    bad_json = f"{{not json {tag}"
    unknown_run = hint_body(str(uuid.uuid4()), pool["name"]).replace('"version": 1', f'"version": 1, "tag": "{tag}"')
    for body in (bad_json, unknown_run):
        sqs(aws_endpoint_url).send_message(QueueUrl=queue_url, MessageBody=body)

    good = create_run(client, deployment["id"], x=3)
    assert wait_for_state(client, good["id"], "COMPLETED", timeout=30)
    # Not deleted: redelivered (short visibility) until SQS moves them after 5 receives.
    wait_for(
        lambda: {bad_json, unknown_run} <= set(dead_letter_bodies(aws_endpoint_url, queue_url)), timeout=60, interval=1
    )
    later = create_run(client, deployment["id"], x=4)
    assert wait_for_state(client, later["id"], "COMPLETED", timeout=30)
    output = log.read_text()
    assert "poison message" in output and "does not exist" in output
