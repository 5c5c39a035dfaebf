"""functions/worker/handler.py driven with an SQS event built from the pool queue's real messages:
good records execute, bad ones are reported as partial batch failures."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.lambda_support import LambdaContext
from tests.worker.support import (
    create_deployment,
    create_pool,
    create_run,
    hint_body,
    lambda_sqs_event,
    pool_queue_url,
    read_run,
    sqs,
    wait_for,
)


def test_lambda_worker_runs_good_records_and_reports_bad_ones(
    client: httpx.Client, api_url: str, aws_endpoint_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("PREFECT_API_URL", "SERVERFLOW_API_KEY", "SERVERFLOW_WORKER_POOL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SERVERFLOW_API_URL", api_url)
    monkeypatch.setenv("SERVERFLOW_LOCAL_STORAGE_PATH", str(tmp_path / "results"))
    monkeypatch.setenv("SERVERFLOW_WORKER_CANCEL_CHECK_SECONDS", "0.5")
    # A record whose run another record's wake-up got to first may be sent again (record.handle_wakeup).
    for key, value in {
        "SERVERFLOW_AWS_ENDPOINT_URL": aws_endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    pool = create_pool(client)
    deployment = create_deployment(client, pool["name"], tmp_path / "project")
    runs = [create_run(client, deployment["id"], x=i)["id"] for i in (1, 2)]
    queue = sqs(aws_endpoint_url)
    queue_url = pool_queue_url(aws_endpoint_url, pool)
    bad = {"{oops": "bad json", hint_body(str(uuid.uuid4()), pool["name"]): "unknown run"}
    for body in bad:
        queue.send_message(QueueUrl=queue_url, MessageBody=body)

    received: list[dict[str, Any]] = []

    def collect() -> bool:
        got = queue.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60, AttributeNames=["All"]
        )
        received.extend(got.get("Messages", []))
        return len(received) >= 4

    wait_for(collect, timeout=20)
    arn = queue.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    from functions.worker.handler import handler

    response = handler(lambda_sqs_event(received, arn), LambdaContext(function_name="serverflow-worker"))

    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    assert failed == {m["MessageId"] for m in received if m["Body"] in bad}
    for run_id in runs:
        run = read_run(client, run_id)
        assert run["state_type"] == "COMPLETED"
        assert run["labels"]["prefect.worker.name"].startswith("lambda-serverflow-worker-")
    workers = client.post(f"/work_pools/{pool['name']}/workers/filter", json={}).json()
    assert [w["name"] for w in workers] == [runs and read_run(client, runs[0])["labels"]["prefect.worker.name"]]
