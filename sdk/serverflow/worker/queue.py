"""The pool's SQS queue, seen from a worker: find its URL, receive, delete, keep invisible.

The worker asks the API where its pool's runs are announced (``GET /work_pools/{name}/dispatch_queue``, a
Serverflow extension): the queue URL, the region and, on a local stack, the emulator's endpoint (which takes
any credentials, so nothing needs exporting). ``--queue-url`` / ``SERVERFLOW_WORKER_QUEUE_URL`` override the
URL and ``SERVERFLOW_AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL`` / ``AWS_REGION`` the endpoint and region. Against
a server without that route the worker derives the name the server gives queues (``shared/dispatch/sqs.py``):
``<prefix>-pool-<pool id>``, the prefix being ``SERVERFLOW_POOL_QUEUE_PREFIX`` (the stack name on AWS).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

DEFAULT_PREFIX = "serverflow"
MAX_QUEUE_NAME = 80  # SQS limit; the server truncates the same way


class QueueNotFound(Exception):
    pass


@dataclass
class Message:
    body: str
    receipt_handle: str
    message_id: str
    receive_count: int


# Any credentials do for an emulator (moto, LocalStack); boto3 still insists on having some.
EMULATOR_CREDENTIALS = {"aws_access_key_id": "serverflow", "aws_secret_access_key": "serverflow"}


@dataclass
class QueueLocation:
    """Where a pool's hints arrive, as the API told it (``GET /work_pools/{name}/dispatch_queue``)."""

    queue_url: str | None
    region: str | None = None
    endpoint_url: str | None = None
    emulated: bool = False


def sqs_client(location: QueueLocation | None = None) -> Any:
    import boto3  # imported only by workers: `import serverflow` stays light

    told = location or QueueLocation(None)
    endpoint = os.environ.get("SERVERFLOW_AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL") or told.endpoint_url
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or told.region or "us-east-1"
    session = boto3.session.Session()
    if told.emulated and endpoint == told.endpoint_url and session.get_credentials() is None:
        return session.client("sqs", endpoint_url=endpoint, region_name=region, **EMULATOR_CREDENTIALS)
    return session.client("sqs", endpoint_url=endpoint, region_name=region)


def describe(location: QueueLocation) -> str:
    where = f" via {location.endpoint_url}" if location.endpoint_url else ""
    return f"{location.queue_url}{where}"


def queue_name_for(pool_id: object, prefix: str | None = None) -> str:
    prefix = prefix or os.environ.get("SERVERFLOW_POOL_QUEUE_PREFIX") or DEFAULT_PREFIX
    return f"{prefix}-pool-{pool_id}"[:MAX_QUEUE_NAME]


def resolve_queue_url(client: Any, pool_id: object, explicit: str | None = None) -> str:
    if explicit:
        return explicit
    from botocore.exceptions import ClientError

    try:
        return str(client.get_queue_url(QueueName=queue_name_for(pool_id))["QueueUrl"])
    except ClientError as exc:
        if (
            "NonExistent" not in exc.response["Error"]["Code"]
            and "QueueDoesNotExist" not in exc.response["Error"]["Code"]
        ):
            raise
    suffix = f"-pool-{pool_id}"
    for page in client.get_paginator("list_queues").paginate():
        for url in page.get("QueueUrls", []):
            if url.endswith(suffix):
                return str(url)
    raise QueueNotFound(
        f"No SQS queue for work pool {pool_id} (looked for {queue_name_for(pool_id)!r} and '*{suffix}'); "
        "set SERVERFLOW_POOL_QUEUE_PREFIX to the stack name, or pass --queue-url"
    )


class PoolQueue:
    def __init__(self, url: str, client: Any | None = None) -> None:
        self.url = url
        self.client = client or sqs_client()

    def check(self) -> None:
        """Raise if the queue cannot be reached with these credentials (receives nothing)."""
        self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])

    def receive(self, max_messages: int, wait_seconds: int, visibility_timeout: int | None) -> list[Message]:
        kwargs: dict[str, Any] = {
            "QueueUrl": self.url,
            "MaxNumberOfMessages": max(1, min(10, max_messages)),
            "WaitTimeSeconds": max(0, min(20, wait_seconds)),
            "AttributeNames": ["ApproximateReceiveCount"],
        }
        if visibility_timeout is not None:
            kwargs["VisibilityTimeout"] = visibility_timeout
        response = self.client.receive_message(**kwargs)
        return [
            Message(
                body=m.get("Body", ""),
                receipt_handle=m["ReceiptHandle"],
                message_id=m["MessageId"],
                receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
            )
            for m in response.get("Messages", [])
        ]

    def delete(self, message: Message) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt_handle)
        except ClientError:
            pass  # already deleted by another receiver, or the handle expired: the run is settled either way

    def keep_invisible(self, message: Message, seconds: int) -> None:
        """Extend the message's invisibility while its run executes (no redelivery mid-run)."""
        from botocore.exceptions import ClientError

        try:
            self.client.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=seconds
            )
        except ClientError:
            pass  # the message came back and someone else got it: they will lose the claim and delete it
