"""Background task runs waiting for a task worker (`task.delay()`), one queue per task key.

The reference keeps these queues in the API process's memory; here they are items, so a
task run enqueued by one Lambda is delivered by another.

Item: PK=TASK_QUEUE#<task_key>, SK=<sortable enqueue time>#<task run id>, body = TaskRun JSON,
expires_at = enqueued + SERVERFLOW_TASK_QUEUE_RETENTION_DAYS (default 7).

Access patterns:
- enqueue ............ put, in the same transaction that moves the run to a deferred
                       SCHEDULED state (task_runs.create / set_state): never one without the other
- deliver (claim) .... conditional delete of the item (attribute_exists): of two workers or
                       fan-outs claiming one task run, exactly one gets it
- backlog of a key ... Query PK=TASK_QUEUE#<task_key>, oldest first (a worker that subscribes
                       drains what was enqueued while nobody listened)
The table's stream carries each new item to the delivering fan-out (shared.storage.stream_records).
"""

from __future__ import annotations

import datetime
import os
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from shared.schemas.task_runs import TaskRun
from shared.schemas.types import now_utc
from shared.storage import store
from shared.storage.errors import ConcurrentUpdate
from shared.storage.keys import key, sortable_time
from shared.storage.table import TableItem

ENTITY = "task_queue"


class QueuedTaskRun(BaseModel):
    """A queued run plus the opaque position needed to claim it."""

    model_config: ClassVar[ConfigDict] = ConfigDict(defer_build=True)  # built on first use (cold start)
    task_run: TaskRun
    position: str


def retention() -> datetime.timedelta:
    return datetime.timedelta(days=float(os.environ.get("SERVERFLOW_TASK_QUEUE_RETENTION_DAYS", "7")))


def _pk(task_key: str) -> str:
    return key("TASK_QUEUE", task_key)


def to_item(task_run: TaskRun) -> TableItem:
    stamp = now_utc()
    return TableItem(
        _pk(task_run.task_key),
        f"{sortable_time(stamp)}#{task_run.id}",
        entity=ENTITY,
        body=task_run.model_dump_json(),
        expires_at=int((stamp + retention()).timestamp()),
    )


def enqueue(task_run: TaskRun) -> None:
    """Put a run back (a delivery that reached no worker)."""
    store.put(to_item(task_run))


def from_item(item: TableItem) -> QueuedTaskRun:
    assert item.body is not None
    return QueuedTaskRun(task_run=TaskRun.model_validate_json(item.body), position=item.SK)


def claim(queued: QueuedTaskRun) -> bool:
    """Take the run off its queue; False if someone else already did."""
    try:
        store.delete(TableItem(_pk(queued.task_run.task_key), queued.position), TableItem.PK.exists())
    except ConcurrentUpdate:
        return False
    return True


def backlog(task_key: str, limit: int = 100) -> list[QueuedTaskRun]:
    now = int(now_utc().timestamp())
    return [
        from_item(i)
        for i in store.query(_pk(task_key), limit=limit)
        if i.body and (i.expires_at is None or i.expires_at > now)
    ]
