"""The Lambda worker's per-record logic (``functions/worker/handler.py`` wires it to Powertools'
``BatchProcessor``): the same claim / subprocess / report path as the CLI worker (``record``).

A record is a wake-up (``record.handle_wakeup``): the worker asks ``get_scheduled_flow_runs`` for one run
(so queue priorities and concurrency limits hold) and executes that run, which may not be the record's.
The record then returns normally (Lambda deletes it) unless its run is unknown (poison) or the API could
not be asked: those raise, so they are reported in ``batchItemFailures`` and SQS redelivers them (to the
DLQ after 5 receives). A record whose run is still SCHEDULED but was not handed out (a concurrency limit,
a pause, a higher-priority run) is sent again as a new message with a backed-off delay (Lambda has no
API poll to fall back on), so it neither starves nor reaches the DLQ. The event source mapping must
enable ``ReportBatchItemFailures``.

Identity: one worker name per Lambda execution environment, heartbeated while records are processed.
If the environment dies mid-run (timeout, OOM), its heartbeats stop and worker expiry crashes its runs.
Before the Lambda deadline the flow process is killed and the run reported Crashed.
"""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any

from . import record as hints
from .api import WorkerAPI
from .options import WorkerOptions

ENVIRONMENT_ID = uuid.uuid4().hex[:8]
# Seconds kept before the Lambda deadline to kill the flow and report it.
DEADLINE_MARGIN_SECONDS = float(os.environ.get("SERVERFLOW_WORKER_DEADLINE_MARGIN_SECONDS", "20"))

_apis: dict[str, WorkerAPI] = {}
_queues: dict[str, Any] = {}


class RecordNotProcessed(Exception):
    """Raised for the batch processor: this record is reported as a batch item failure."""


def worker_name(lambda_context: Any = None) -> str:
    function = getattr(lambda_context, "function_name", None) or os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
    return f"lambda-{function}-{ENVIRONMENT_ID}"


def _api_for(pool: str, lambda_context: Any) -> WorkerAPI:
    if pool not in _apis:
        from ..client import SyncClient
        from ..settings import get_settings

        settings = get_settings()
        api = WorkerAPI(SyncClient(), pool, worker_name(lambda_context), settings.api_key)
        api.read_pool()
        _apis[pool] = api
    return _apis[pool]


def _pool_of(body: str) -> str | None:
    configured = os.environ.get("SERVERFLOW_WORKER_POOL") or None
    try:
        hint = hints.parse_hint(body)
    except hints.BadHint:
        return None
    if configured and hint.work_pool_name and hint.work_pool_name != configured:
        return None
    return hint.work_pool_name or configured


def _requeuer(api: WorkerAPI, record: Any, body: str) -> Any:
    def requeue(delay_seconds: int) -> None:
        from .queue import PoolQueue, resolve_queue_url, sqs_client

        if api.pool_name not in _queues:
            client = sqs_client()
            assert api.pool is not None
            url = _url_from_arn(client, getattr(record, "event_source_arn", None)) or resolve_queue_url(
                client, api.pool.id
            )
            _queues[api.pool_name] = PoolQueue(url, client)
        queue = _queues[api.pool_name]
        queue.client.send_message(QueueUrl=queue.url, MessageBody=hints.requeued_body(body), DelaySeconds=delay_seconds)

    return requeue


def _url_from_arn(client: Any, arn: str | None) -> str | None:
    parts = (arn or "").split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        return None
    try:
        return str(client.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"])
    except Exception:  # noqa: BLE001 - fall back to deriving it from the pool id
        return None


def _deadline_watch(lambda_context: Any, stopping: threading.Event) -> threading.Timer | None:
    remaining = getattr(lambda_context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    timer = threading.Timer(max(0.0, remaining() / 1000 - DEADLINE_MARGIN_SECONDS), stopping.set)
    timer.daemon = True
    timer.start()
    return timer


def _heartbeats(api: WorkerAPI, options: WorkerOptions, done: threading.Event) -> None:
    while not done.wait(options.heartbeat_seconds):
        try:
            api.heartbeat(options.heartbeat_seconds)
        except Exception:  # noqa: BLE001 - a missed beat is retried on the next interval
            pass


def record_handler(record: Any, lambda_context: Any = None) -> str:
    # Powertools passes these by keyword: the names are part of its contract.
    body = str(record.body or "")
    pool = _pool_of(body)
    if pool is None:
        raise RecordNotProcessed("poison message: not a flow-run hint for this worker")
    api = _api_for(pool, lambda_context)
    options = WorkerOptions(pool=pool, name=api.worker_name, limit=1, use_sqs=False)
    api.heartbeat(options.heartbeat_seconds)
    done, stopping = threading.Event(), threading.Event()
    beat = threading.Thread(target=_heartbeats, args=(api, options, done), daemon=True)
    beat.start()
    timer = _deadline_watch(lambda_context, stopping)
    try:
        outcome = hints.handle_hint(api, body, options, _requeuer(api, record, body), stopping=stopping)
    finally:
        done.set()
        if timer is not None:
            timer.cancel()
    if not outcome.acknowledge:
        raise RecordNotProcessed(f"flow-run hint not processed ({outcome.value})")
    return outcome.value
