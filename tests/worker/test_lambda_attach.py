"""`serverflow worker --pool P --attach-lambda FN` maps the pool's queue to the Lambda worker (emulated
Lambda API): batch size 1, partial batch failures, visibility above the function timeout; idempotent."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import boto3
import httpx

from tests.aws_env import emulator_client
from tests.worker.support import create_pool, pool_queue_url, run_worker, sqs, unique, worker_env


def _function(aws_endpoint_url: str, timeout: int) -> str:
    kwargs = dict(
        endpoint_url=aws_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = boto3.client("iam", **kwargs).create_role(
        RoleName=unique("worker-role"), AssumeRolePolicyDocument=json.dumps(trust)
    )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("functions/worker/handler.py", "def handler(event, context):\n    return {}\n")
    name = unique("serverflow-worker")
    boto3.client("lambda", **kwargs).create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role["Role"]["Arn"],
        Handler="functions.worker.handler.handler",
        Code={"ZipFile": archive.getvalue()},
        Timeout=timeout,
    )
    return name


def test_attach_lambda_creates_one_partial_failure_mapping(
    client: httpx.Client, api_url: str, aws_endpoint_url: str, tmp_path: Path
) -> None:
    pool = create_pool(client)
    function = _function(aws_endpoint_url, timeout=300)
    env = worker_env(api_url, aws_endpoint_url, tmp_path)
    first = run_worker(pool["name"], env, "--attach-lambda", function)
    second = run_worker(pool["name"], env, "--attach-lambda", function)
    assert first.returncode == 0 and second.returncode == 0, first.stdout + first.stderr + second.stderr

    queue_url = pool_queue_url(aws_endpoint_url, pool)
    attributes = sqs(aws_endpoint_url).get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn", "VisibilityTimeout"]
    )["Attributes"]
    assert int(attributes["VisibilityTimeout"]) >= 300
    lam = emulator_client("lambda", aws_endpoint_url)
    [mapping] = lam.list_event_source_mappings(EventSourceArn=attributes["QueueArn"], FunctionName=function)[
        "EventSourceMappings"
    ]
    assert mapping["BatchSize"] == 1 and mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["UUID"] in first.stdout and mapping["UUID"] in second.stdout
