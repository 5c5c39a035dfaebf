"""Helpers for the worker tests: pools, deployments of flow files written to tmp dirs, worker processes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.server_env import server_python

REPO = Path(__file__).resolve().parents[2]

FLOW_FILE = """
import os, time
from serverflow import flow


@flow(name="{flow_name}", persist_result=True, result_serializer="json", retries={retries})
def work(x: int = 1, sleep: float = 0.0, marker: str = "") -> dict:
    from serverflow import runtime
    run_id = str(runtime.flow_run.id)
    if marker:
        with open(marker, "a") as handle:
            handle.write(run_id + "\\n")
    if sleep and runtime.flow_run.run_count <= 1:  # a retry (e.g. after a crash) finishes at once
        time.sleep(sleep)
    return {{"doubled": x * 2, "run_id": run_id, "cwd": os.getcwd()}}
"""

PARAMETER_SCHEMA = {
    "type": "object",
    "properties": {"x": {"type": "integer"}, "sleep": {"type": "number"}, "marker": {"type": "string"}},
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def ok(response: httpx.Response) -> Any:
    assert response.status_code < 400, f"{response.status_code} {response.text}"
    return response.json() if response.content else None


def create_pool(client: httpx.Client, name: str | None = None) -> dict[str, Any]:
    return ok(client.post("/work_pools/", json={"name": name or unique("wpool"), "type": "process"}))


def create_deployment(client: httpx.Client, pool: str, directory: Path, retries: int = 0) -> dict[str, Any]:
    """A deployment whose entrypoint is a flow file written into ``directory`` (its working directory)."""
    flow_name = unique("wflow")
    (directory / "flows").mkdir(parents=True, exist_ok=True)
    (directory / "flows" / "work.py").write_text(
        textwrap.dedent(FLOW_FILE.format(flow_name=flow_name, retries=retries))
    )
    flow = ok(client.post("/flows/", json={"name": flow_name}))
    return ok(
        client.post(
            "/deployments/",
            json={
                "name": "worker-test",
                "flow_id": flow["id"],
                "work_pool_name": pool,
                "entrypoint": "flows/work.py:work",
                "path": str(directory),
                "parameter_openapi_schema": PARAMETER_SCHEMA,
            },
        )
    )


def create_run(client: httpx.Client, deployment_id: str, **parameters: Any) -> dict[str, Any]:
    return ok(client.post(f"/deployments/{deployment_id}/create_flow_run", json={"parameters": parameters}))


def read_run(client: httpx.Client, run_id: str) -> dict[str, Any]:
    return ok(client.get(f"/flow_runs/{run_id}"))


def wait_for(check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {check}")
        time.sleep(interval)


def wait_for_state(client: httpx.Client, run_id: str, *types: str, timeout: float = 30.0) -> dict[str, Any]:
    return wait_for(lambda: (r := read_run(client, run_id))["state_type"] in types and r, timeout)


def worker_env(api_url: str, aws_endpoint_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SERVERFLOW_"))}
    env.update(
        SERVERFLOW_API_URL=api_url,
        SERVERFLOW_AWS_ENDPOINT_URL=aws_endpoint_url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        SERVERFLOW_LOCAL_STORAGE_PATH=str(tmp / "results"),
        SERVERFLOW_FLUSH_INTERVAL="0.5",
        # Fast redelivery of unacknowledged (poison) messages, quick cancellation checks.
        SERVERFLOW_WORKER_VISIBILITY_TIMEOUT="2",
        SERVERFLOW_WORKER_CANCEL_CHECK_SECONDS="0.5",
        SERVERFLOW_WORKER_QUERY_SECONDS="2",
        SERVERFLOW_WORKER_KILL_GRACE_SECONDS="3",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def worker_command(pool: str, *args: str) -> list[str]:
    # The worker is Lambda code too (functions/worker): it runs in the server env.
    return [server_python(), "-m", "serverflow.cli", "worker", "--pool", pool, *args]


def start_worker(pool: str, env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    handle = open(log, "ab")  # noqa: SIM115 - closed with the process by the OS
    return subprocess.Popen(worker_command(pool, *args), env=env, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT)


def run_worker(pool: str, env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        worker_command(pool, *args), env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def sqs(aws_endpoint_url: str) -> Any:
    import boto3

    return boto3.client(
        "sqs",
        endpoint_url=aws_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def pool_queue_url(aws_endpoint_url: str, pool: dict[str, Any]) -> str:
    from serverflow.worker.queue import resolve_queue_url

    return resolve_queue_url(sqs(aws_endpoint_url), pool["id"])


def hint_body(run_id: str, pool_name: str) -> str:
    """A message like the server's (shared/dispatch/messages.py), for injecting duplicates."""
    import json

    return json.dumps(
        {"type": "serverflow.flow_run.due", "version": 1, "flow_run_id": run_id, "work_pool_name": pool_name}
    )


def dead_letter_bodies(aws_endpoint_url: str, queue_url: str) -> list[str]:
    """Bodies currently in the pool queue's dead-letter queue (peeked: visibility 0)."""
    import json

    client = sqs(aws_endpoint_url)
    policy = json.loads(
        client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    )
    dlq_url = client.get_queue_url(QueueName=policy["deadLetterTargetArn"].rsplit(":", 1)[1])["QueueUrl"]
    bodies: list[str] = []
    for _ in range(5):
        got = client.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0)
        bodies.extend(m["Body"] for m in got.get("Messages", []))
    return bodies


def stop(process: subprocess.Popen[bytes], timeout: float = 30) -> int:
    process.terminate()
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def lambda_sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event an SQS event source mapping hands to Lambda."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": m.get("Attributes", {}).get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": m.get("Attributes", {}).get("SentTimestamp", "0"),
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "0",
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(m["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }
