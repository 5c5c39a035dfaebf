"""Wire a work pool's SQS queue to the Lambda worker (``serverflow worker --pool P --attach-lambda FN``).

Pool queues are created at runtime (``POST /work_pools/``), so their event source mappings cannot be
declared in template.yaml. This creates one, idempotently: batch size 1 (a record is a whole flow run),
``ReportBatchItemFailures`` (poison records go back to the queue, then to the DLQ), and the queue's
visibility timeout raised above the function's timeout, as Lambda requires for an SQS source.
"""

from __future__ import annotations

import os
from typing import Any

from .queue import resolve_queue_url, sqs_client

VISIBILITY_MARGIN_SECONDS = 30


def lambda_client() -> Any:
    import boto3

    endpoint = os.environ.get("SERVERFLOW_AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL") or None
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.client("lambda", endpoint_url=endpoint, region_name=region)


def attach(pool_id: object, function_name: str, batch_size: int = 1, queue_url: str | None = None) -> dict[str, Any]:
    sqs, lam = sqs_client(), lambda_client()
    url = resolve_queue_url(sqs, pool_id, queue_url)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "VisibilityTimeout"])["Attributes"]
    arn = attributes["QueueArn"]
    timeout = int(lam.get_function_configuration(FunctionName=function_name).get("Timeout", 3))
    if int(attributes.get("VisibilityTimeout", 30)) < timeout + VISIBILITY_MARGIN_SECONDS:
        sqs.set_queue_attributes(
            QueueUrl=url, Attributes={"VisibilityTimeout": str(timeout + VISIBILITY_MARGIN_SECONDS)}
        )
    existing = lam.list_event_source_mappings(EventSourceArn=arn, FunctionName=function_name).get(
        "EventSourceMappings", []
    )
    if existing:
        return dict(existing[0])
    return dict(
        lam.create_event_source_mapping(
            EventSourceArn=arn,
            FunctionName=function_name,
            BatchSize=batch_size,
            FunctionResponseTypes=["ReportBatchItemFailures"],
            Enabled=True,
        )
    )
