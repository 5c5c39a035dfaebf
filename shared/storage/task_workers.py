"""Task workers seen recently: the registry behind `POST /task_workers/filter`.

The reference keeps this in the API process's memory (an InMemoryTaskWorkerTracker fed by
the `/task_runs/subscriptions/scheduled` websocket). Lambdas share no memory, so it lives
in the table; the websocket subscription (written with background tasks) is its writer:
`observe()` when a task worker subscribes and again on each keep-alive, `forget()` when it
disconnects. A worker not observed for `SERVERFLOW_TASK_WORKER_TTL_SECONDS` (default 120)
is no longer listed (reads drop it; DynamoDB TTL deletes the item later), so a worker that
vanished without a clean disconnect ages out.

Item: PK=TASK_WORKER#<identifier>, SK=#META, body = TaskWorkerResponse JSON (task keys are
the union of every observation, as the reference's tracker), `expires_at` = last seen + TTL.

Access patterns:
- observe / forget ...... PK=TASK_WORKER#<identifier> (read + put / delete)
- all active workers .... GSI1PK=TASK_WORKERS, GSI1SK=<identifier> (one Query; expired dropped)
- by task keys .......... the same Query, task keys matched in memory (task workers are few;
                          a per-key index is the next step if that changes)
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterable

from shared.schemas.base import now_utc
from shared.schemas.task_workers import TaskWorkerResponse
from shared.storage import store
from shared.storage.keys import decode, epoch_seconds, key
from shared.storage.table import TableItem

ENTITY = "task_worker"
ALL_WORKERS = "TASK_WORKERS"
DEFAULT_TTL_SECONDS = 120


def ttl() -> datetime.timedelta:
    """How long a task worker stays listed after it was last observed (read per call)."""
    return datetime.timedelta(seconds=int(os.environ.get("SERVERFLOW_TASK_WORKER_TTL_SECONDS", DEFAULT_TTL_SECONDS)))


def _key(identifier: str) -> str:
    return key("TASK_WORKER", identifier)


def observe(identifier: str, task_keys: Iterable[str], now: datetime.datetime | None = None) -> TaskWorkerResponse:
    """Record that a task worker serving `task_keys` is connected (keys accumulate)."""
    now = now or now_utc()
    current = store.get(_key(identifier))
    known = decode(current, TaskWorkerResponse).task_keys if current is not None else []
    worker = TaskWorkerResponse(identifier=identifier, task_keys=sorted({*known, *task_keys}), timestamp=now)
    store.put(
        TableItem(
            _key(identifier),
            store.META,
            entity=ENTITY,
            body=worker.model_dump_json(),
            expires_at=epoch_seconds(now + ttl()),
            GSI1PK=ALL_WORKERS,
            GSI1SK=identifier,
        )
    )
    return worker


def forget(identifier: str) -> None:
    """The task worker disconnected."""
    store.delete_key(_key(identifier))


def active(task_keys: list[str] | None = None, now: datetime.datetime | None = None) -> list[TaskWorkerResponse]:
    """Workers observed within the TTL; with `task_keys`, those serving any of them."""
    now_epoch = epoch_seconds(now or now_utc())
    wanted = set(task_keys or [])
    workers = []
    for item in store.query(ALL_WORKERS, index="GSI1"):
        if item.expires_at is not None and item.expires_at <= now_epoch:
            continue  # past TTL, not swept yet
        worker = decode(item, TaskWorkerResponse)
        if not wanted or wanted & set(worker.task_keys):
            workers.append(worker)
    return workers
