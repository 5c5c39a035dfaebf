"""Create the emulated AWS resources from template.yaml (never declared twice).

Idempotent: a restart against a persistent emulator (or LocalStack) finds the
resources already there and leaves them alone.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.template import resources, table_definition, table_ttl_attribute


def _client(service: str, endpoint_url: str, region: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region)


def create_table(endpoint_url: str, region: str, table_name: str) -> bool:
    """Create the table if missing; True when it was created now."""
    dynamodb = _client("dynamodb", endpoint_url, region)
    try:
        dynamodb.create_table(TableName=table_name, **table_definition())
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceInUseException":
            return False
        raise
    dynamodb.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    ttl_attribute = table_ttl_attribute()
    if ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
        )
    return True


def queue_names(prefix: str) -> dict[str, str]:
    """Logical id -> queue name for every AWS::SQS::Queue in the template."""
    names: dict[str, str] = {}
    for logical_id, resource in resources("AWS::SQS::Queue").items():
        declared = (resource.get("Properties") or {}).get("QueueName")
        names[logical_id] = declared if isinstance(declared, str) else f"{prefix}-{logical_id}"
    return names


def create_queues(endpoint_url: str, region: str, prefix: str) -> dict[str, str]:
    """Create every queue the template declares; logical id -> queue URL."""
    sqs = _client("sqs", endpoint_url, region)
    names = queue_names(prefix)
    urls: dict[str, str] = {}
    declared = resources("AWS::SQS::Queue")
    # Dead-letter queues first: redrive policies reference their ARNs.
    ordered = sorted(declared, key=lambda lid: "RedrivePolicy" in (declared[lid].get("Properties") or {}))
    for logical_id in ordered:
        props = dict(declared[logical_id].get("Properties") or {})
        attributes: dict[str, str] = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds", "DelaySeconds"):
            if key in props:
                attributes[key] = str(props[key])
        redrive = props.get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]
            target_id = target["Fn::GetAtt"][0] if isinstance(target, dict) else target
            dlq_arn = sqs.get_queue_attributes(QueueUrl=urls[target_id], AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(redrive.get("maxReceiveCount", 5))}
            )
        urls[logical_id] = sqs.create_queue(QueueName=names[logical_id], Attributes=attributes)["QueueUrl"]
    return urls
