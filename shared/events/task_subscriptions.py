"""/task_runs/subscriptions/scheduled: background task runs to task workers, transport-agnostic.

Protocol (the reference's): after the `prefect` auth handshake the worker sends
{"type": "subscribe", "keys": [task keys], "client_id": ...}; the server sends each task
run as its TaskRun JSON and the worker answers {"type": "ack"} (or "quit").

Delivery: a run enqueued for a key (shared.storage.task_queue, written with its SCHEDULED
state) reaches the fan-out through the table's stream; the fan-out picks one subscribed
worker for the key (rotating by run id), claims the run with a conditional delete (so of
two fan-outs or a subscribing worker's backlog drain only one delivers it), then posts it.
A post to a gone worker re-enqueues the run. A worker that subscribes first drains the
backlog of its keys the same way.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from shared.events.subscriptions import ConnectionGone, Poster
from shared.schemas.types import now_utc
from shared.storage import subscriptions as subscription_store
from shared.storage import task_queue, task_workers
from shared.storage.subscriptions import Channel, Subscription
from shared.storage.task_queue import QueuedTaskRun

PROTOCOL_VIOLATION = 4001
CHANNEL: Channel = "task_runs"


class InvalidSubscribeMessage(ValueError):
    """Close with 4001 and this reason, as the reference."""


def parse_subscribe_message(raw: str | bytes | None) -> tuple[list[str], str]:
    try:
        message = json.loads(raw) if raw is not None else None
    except ValueError:
        message = None
    if not isinstance(message, dict) or message.get("type") != "subscribe":
        raise InvalidSubscribeMessage("Protocol violation: expected 'subscribe' message")
    keys = message.get("keys")
    if not keys or not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise InvalidSubscribeMessage("Protocol violation: expected 'keys' in subscribe message")
    client_id = message.get("client_id")
    if not client_id or not isinstance(client_id, str):
        raise InvalidSubscribeMessage("Protocol violation: expected 'client_id' in subscribe message")
    return keys, client_id


def subscribe(connection_id: str, raw: str | bytes | None) -> Subscription:
    """Store the worker's subscription and list it for /task_workers/filter."""
    keys, client_id = parse_subscribe_message(raw)
    subscription = Subscription(
        connection_id=connection_id,
        channel=CHANNEL,
        filter={"keys": keys, "client_id": client_id},
        subscribed_at=now_utc(),
        backfill=False,
    )
    subscription_store.save(subscription)
    task_workers.observe(client_id, keys)
    return subscription


def unsubscribe(subscription: Subscription | None, connection_id: str) -> None:
    subscription_store.delete(connection_id)
    if subscription is not None:
        task_workers.forget(str(subscription.filter.get("client_id")))


def _frame(queued: QueuedTaskRun) -> dict[str, Any]:
    return queued.task_run.model_dump(mode="json")


def _deliver(queued: QueuedTaskRun, candidates: list[Subscription], post: Poster) -> bool:
    """Claim the run, then post it to the first reachable candidate (re-enqueued if none)."""
    if not task_queue.claim(queued):
        return False  # delivered by someone else
    for subscription in candidates:
        try:
            post(subscription.connection_id, _frame(queued))
        except ConnectionGone:
            unsubscribe(subscription, subscription.connection_id)
            continue
        task_workers.observe(str(subscription.filter.get("client_id")), [queued.task_run.task_key])
        return True
    task_queue.enqueue(queued.task_run)  # nobody reachable: wait for the next worker
    return False


def drain_backlog(subscription: Subscription, post: Poster) -> int:
    """A worker just subscribed: deliver what waited for its keys."""
    delivered = 0
    for task_key in subscription.filter.get("keys") or []:
        for queued in task_queue.backlog(task_key):
            delivered += _deliver(queued, [subscription], post)
    return delivered


def fan_out(queued_runs: list[QueuedTaskRun], post: Poster) -> int:
    """Deliver newly queued runs to subscribed workers; returns runs delivered."""
    if not queued_runs:
        return 0
    subscriptions = sorted(subscription_store.of_channel(CHANNEL), key=lambda s: s.connection_id)
    delivered = 0
    for queued in queued_runs:
        candidates = [s for s in subscriptions if queued.task_run.task_key in (s.filter.get("keys") or [])]
        if not candidates:
            continue  # stays queued until a worker subscribes
        start = zlib.crc32(str(queued.task_run.id).encode()) % len(candidates)
        delivered += _deliver(queued, candidates[start:] + candidates[:start], post)
    return delivered
