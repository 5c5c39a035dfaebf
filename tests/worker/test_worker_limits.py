"""SQS messages are wake-ups: the worker claims only what `get_scheduled_flow_runs` hands out, so work-queue
concurrency limits and queue priorities hold on the SQS path, and a hint held back by a limit never reaches
the dead-letter queue."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.lambda_support import LambdaContext
from tests.worker.support import (
    create_deployment,
    create_pool,
    dead_letter_bodies,
    lambda_sqs_event,
    ok,
    pool_queue_url,
    read_run,
    run_worker,
    sqs,
    wait_for,
    worker_env,
)


def create_queue(client: httpx.Client, pool: str, name: str, **fields: Any) -> dict[str, Any]:
    return ok(client.post(f"/work_pools/{pool}/queues", json={"name": name, **fields}))


def run_in_queue(client: httpx.Client, deployment_id: str, queue: str, **parameters: Any) -> dict[str, Any]:
    body = {"parameters": parameters, "work_queue_name": queue}
    return ok(client.post(f"/deployments/{deployment_id}/create_flow_run", json=body))


def queued_bodies(aws_endpoint_url: str, queue_url: str) -> int:
    attributes = sqs(aws_endpoint_url).get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesDelayed"])


def test_queue_concurrency_limit_holds_on_the_sqs_path_and_no_hint_is_dead_lettered(
    client: httpx.Client, api_url: str, aws_endpoint_url: str, tmp_path: Path
) -> None:
    pool = create_pool(client)
    create_queue(client, pool["name"], "limited", concurrency_limit=1)
    deployment = create_deployment(client, pool["name"], tmp_path / "project")
    runs = [run_in_queue(client, deployment["id"], "limited", x=i, sleep=1.5)["id"] for i in range(3)]
    queue_url = pool_queue_url(aws_endpoint_url, pool)
    wait_for(lambda: queued_bodies(aws_endpoint_url, queue_url) >= 3, timeout=10)  # every hint has arrived

    # Sample the runs' states while one worker with room for 3 drains the queue.
    busy_peak, done = [0], threading.Event()

    def sample() -> None:
        with httpx.Client(base_url=api_url, timeout=30) as http:
            while not done.is_set():
                states = [read_run(http, run_id)["state_type"] for run_id in runs]
                busy_peak[0] = max(busy_peak[0], sum(s in ("PENDING", "RUNNING") for s in states))
                done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        finished = run_worker(
            pool["name"], worker_env(api_url, aws_endpoint_url, tmp_path), "--once", "--limit", "3", timeout=90
        )
    finally:
        done.set()
        sampler.join()
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, output

    final = [read_run(client, run_id) for run_id in runs]
    assert [r["state_type"] for r in final] == ["COMPLETED"] * 3, output
    assert busy_peak[0] == 1, output
    spans = sorted((r["start_time"], r["end_time"]) for r in final)
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans)), spans
    # Held-back hints were released, then deleted: none is left to reach the dead-letter queue.
    assert not any(run_id in body for body in dead_letter_bodies(aws_endpoint_url, queue_url) for run_id in runs)


def test_the_higher_priority_queues_run_starts_first(
    client: httpx.Client, api_url: str, aws_endpoint_url: str, tmp_path: Path
) -> None:
    pool = create_pool(client)
    low = create_queue(client, pool["name"], "low", priority=20)
    high = create_queue(client, pool["name"], "high", priority=10)
    assert high["priority"] < low["priority"]
    deployment = create_deployment(client, pool["name"], tmp_path / "project")
    # The low-priority run is created (and its hint sent) first.
    low_run = run_in_queue(client, deployment["id"], "low", x=1)["id"]
    high_run = run_in_queue(client, deployment["id"], "high", x=2)["id"]
    # Only the low-priority run's hint is left in the queue (SQS does not keep order): the worker woken by
    # it must still start the high-priority run first.
    queue, queue_url = sqs(aws_endpoint_url), pool_queue_url(aws_endpoint_url, pool)
    received: list[dict[str, Any]] = []

    def collect() -> bool:
        got = queue.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30)
        received.extend(got.get("Messages", []))
        return len(received) >= 2

    wait_for(collect, timeout=20)
    for message in received:
        if high_run in message["Body"]:
            queue.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        else:
            queue.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )

    finished = run_worker(
        pool["name"], worker_env(api_url, aws_endpoint_url, tmp_path), "--once", "--limit", "1", timeout=90
    )
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, output
    low_final, high_final = read_run(client, low_run), read_run(client, high_run)
    assert low_final["state_type"] == high_final["state_type"] == "COMPLETED", output
    assert high_final["start_time"] < low_final["start_time"], output


def test_lambda_worker_requeues_a_hint_held_back_by_a_concurrency_limit(
    client: httpx.Client, api_url: str, aws_endpoint_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("PREFECT_API_URL", "SERVERFLOW_API_KEY", "SERVERFLOW_WORKER_POOL"):
        monkeypatch.delenv(key, raising=False)
    env = {
        "SERVERFLOW_API_URL": api_url,
        "SERVERFLOW_AWS_ENDPOINT_URL": aws_endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "SERVERFLOW_LOCAL_STORAGE_PATH": str(tmp_path / "results"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    pool = create_pool(client)
    create_queue(client, pool["name"], "limited", concurrency_limit=1)
    deployment = create_deployment(client, pool["name"], tmp_path / "project")
    holder, waiting = (run_in_queue(client, deployment["id"], "limited", x=i)["id"] for i in (1, 2))
    # The holder takes the queue's only slot.
    for state in ("PENDING", "RUNNING"):
        ok(client.post(f"/flow_runs/{holder}/set_state", json={"state": {"type": state, "name": state.title()}}))
    queue, queue_url = sqs(aws_endpoint_url), pool_queue_url(aws_endpoint_url, pool)
    received: list[dict[str, Any]] = []

    def collect() -> bool:
        got = queue.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60, AttributeNames=["All"]
        )
        received.extend(got.get("Messages", []))
        return len(received) >= 2

    wait_for(collect, timeout=20)
    waiting_message = next(m for m in received if waiting in m["Body"])
    arn = queue.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    from functions.worker.handler import handler

    response = handler(lambda_sqs_event([waiting_message], arn), LambdaContext(function_name="serverflow-worker"))
    assert response["batchItemFailures"] == []  # acknowledged: it must not count towards the DLQ...
    assert read_run(client, waiting)["state_type"] == "SCHEDULED"  # ...nor run past the limit
    # ...and it is not starved: a fresh copy (receive count 0) comes back after a backed-off delay.
    requeued = wait_for(
        lambda: [
            m
            for m in queue.receive_message(QueueUrl=queue_url, WaitTimeSeconds=2, VisibilityTimeout=60).get(
                "Messages", []
            )
            if waiting in m["Body"]
        ],
        timeout=20,
    )
    assert json.loads(requeued[0]["Body"])["requeued"] == 1
