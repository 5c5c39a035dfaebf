"""The boto3 side of dispatch: each work pool's SQS queue, and sending runs to it.

Design (see README "Work pools on SQS"):
- Work pools are created at runtime through the API, so their queues cannot be declared in
  template.yaml. `POST /work_pools/` creates `<prefix>-pool-<pool id>` (ids keep the name
  within SQS's 80 characters and charset whatever the pool is called), with a redrive policy
  to the one dead-letter queue that template.yaml declares (`WorkPoolDeadLetterQueue`,
  maxReceiveCount 5). Its URL is stored on the pool item; `DELETE /work_pools/{name}`
  deletes the queue.
- A due run is sent with DelaySeconds = seconds until it is due (0 if due, at most 900).
  Runs further out are sent later by the scheduler, once inside the 15-minute window.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
from functools import lru_cache
from typing import Any

from botocore.exceptions import ClientError

from shared.config import get_settings
from shared.dispatch import messages
from shared.schemas.base import now_utc
from shared.schemas.flow_runs import FlowRun
from shared.schemas.work_pools import WorkPoolDispatchQueue, WorkQueue
from shared.storage import work_pools as pool_store
from shared.storage import work_queues as queue_store
from shared.storage.work_pools import StoredWorkPool

logger = logging.getLogger("serverflow.dispatch")

# Exported by template.yaml to every function (and by the local stack from the same template).
DLQ_URL_ENV = "SERVERFLOW_QUEUE_WORKPOOLDEADLETTERQUEUE"
PREFIX_ENV = "SERVERFLOW_POOL_QUEUE_PREFIX"
MAX_RECEIVE_COUNT = 5
# A claim (GET deployment, set_state PENDING) takes well under a minute; after that an
# unacknowledged hint becomes visible again for another worker.
VISIBILITY_TIMEOUT_SECONDS = 60
RETENTION_SECONDS = 4 * 24 * 3600
LONG_POLL_SECONDS = 20


@lru_cache(maxsize=4)
def _client_for(endpoint_url: str | None, region: str) -> Any:
    # boto3 (with s3transfer) is imported with the first client: the work_pools and work_queues Lambdas
    # import this module for every route but send on few of them (~20 ms of a cold start, issue #13).
    import boto3

    return boto3.client("sqs", endpoint_url=endpoint_url, region_name=region)


def client() -> Any:
    settings = get_settings()
    return _client_for(settings.aws_endpoint_url, settings.region)


def queue_name_for(pool_id: object) -> str:
    prefix = os.environ.get(PREFIX_ENV) or get_settings().table_name
    return f"{prefix}-pool-{pool_id}"[:80]


def _redrive_policy() -> str | None:
    dlq_url = os.environ.get(DLQ_URL_ENV)
    if not dlq_url:
        logger.warning("%s is not set: pool queues get no dead-letter queue", DLQ_URL_ENV)
        return None
    arn = client().get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)})


def create_pool_queue(pool_id: object, pool_name: str) -> str:
    """Create (idempotently) the pool's queue; returns its URL."""
    attributes = {
        "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS),
        "MessageRetentionPeriod": str(RETENTION_SECONDS),
        "ReceiveMessageWaitTimeSeconds": str(LONG_POLL_SECONDS),
    }
    redrive = _redrive_policy()
    if redrive:
        attributes["RedrivePolicy"] = redrive
    response = client().create_queue(
        QueueName=queue_name_for(pool_id),
        Attributes=attributes,
        tags={"serverflow:work-pool": pool_name[:256], "serverflow:work-pool-id": str(pool_id)},
    )
    return str(response["QueueUrl"])


def dispatch_queue_of(pool: StoredWorkPool) -> WorkPoolDispatchQueue:
    """What a worker needs to listen to the pool's queue. The endpoint is only told when it is not AWS's
    own (set by configuration: the local emulator or LocalStack, which accept any credentials)."""
    settings = get_settings()
    return WorkPoolDispatchQueue(
        queue_url=pool.sqs_queue_url,
        region=settings.region,
        endpoint_url=settings.aws_endpoint_url,
        emulated=settings.aws_endpoint_url is not None,
    )


def delete_pool_queue(queue_url: str | None) -> None:
    if not queue_url:
        return
    try:
        client().delete_queue(QueueUrl=queue_url)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            raise


def _queue_of(run: FlowRun) -> WorkQueue | None:
    if run.work_queue_id is None:
        return None
    return queue_store.read(run.work_queue_id)


def enqueue_flow_run(
    flow_run: FlowRun,
    pool: StoredWorkPool,
    queue: WorkQueue | None = None,
    now: datetime.datetime | None = None,
) -> str | None:
    """Send the run's hint to its pool's queue; the SQS message id, or None when not sent
    (paused pool/queue, not SCHEDULED, due beyond 15 minutes, pool without a queue)."""
    stamp = now or now_utc()
    queue = queue or _queue_of(flow_run)
    reason = messages.skip_reason(flow_run, pool, queue, stamp)
    if reason is None and not pool.sqs_queue_url:
        reason = "work pool has no SQS queue"
    if reason is not None:
        logger.debug("not dispatching flow run %s: %s", flow_run.id, reason)
        return None
    request = messages.send_message_request(flow_run, pool, queue, stamp)
    response = client().send_message(QueueUrl=pool.sqs_queue_url, **request)
    return str(response["MessageId"])


def enqueue_for_run(flow_run: FlowRun, now: datetime.datetime | None = None) -> str | None:
    """Resolve the run's pool from its work queue, then `enqueue_flow_run` (for callers that hold only the run)."""
    queue = _queue_of(flow_run)
    if queue is None or queue.work_pool_name is None:
        return None
    pool = pool_store.read_by_name(queue.work_pool_name)
    return enqueue_flow_run(flow_run, pool, queue, now) if pool else None
