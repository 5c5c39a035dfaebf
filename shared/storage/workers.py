"""Workers (heartbeating processes of a work pool) in the table, and their expiry.

Access patterns:
- read by (pool, name) ... PK=WORK_POOL#<pool name>, SK=WORKER#<worker name> (heartbeat upserts it)
- workers of a pool ...... PK=WORK_POOL#<pool name>, SK begins_with WORKER# (one consistent Query;
                           sorted by last heartbeat in memory, as the reference orders them)
- ONLINE workers by the .. GSI2PK=WORKERS#ONLINE, GSI2SK=<sortable offline_after>#<pool id>#<name>
  time they go stale       (sparse: only while the stored status is ONLINE, so the expiry
                           function reads exactly the workers whose grace ran out:
                           `GSI2SK <= now`)

Status: a heartbeat stores ONLINE. Reads report the status computed from the last heartbeat
(interval x INACTIVITY_HEARTBEAT_MULTIPLE, the reference's foreman rule), so a client never
sees a stale ONLINE between expiry ticks; the expiry function persists OFFLINE and cascades
to pool and queue statuses (`expire`).
"""

from __future__ import annotations

import datetime
import json
import logging
from dataclasses import dataclass, field
from uuid import uuid4

from pydantic import Field

from shared.schemas.base import now_utc
from shared.schemas.filters.deployments import WorkerFilter
from shared.schemas.work_pools import (
    DEFAULT_HEARTBEAT_INTERVAL_SECONDS,
    INACTIVITY_HEARTBEAT_MULTIPLE,
    Worker,
    WorkerStatus,
    WorkPoolStatus,
    worker_status,
)
from shared.storage import deployment_status, store
from shared.storage import work_pools as pool_store
from shared.storage import work_queues as queue_store
from shared.storage.errors import ConcurrentUpdate, ObjectNotFound
from shared.storage.keys import sortable_time
from shared.storage.table import TableItem
from shared.storage.work_pools import StoredWorkPool, pool_key

logger = logging.getLogger("serverflow.storage.workers")

ENTITY = "worker"
WORKER_PREFIX = "WORKER#"
ONLINE_WORKERS = "WORKERS#ONLINE"


class StoredWorker(Worker):
    # The pool's name keys the item; kept in the body so index hits can be re-read.
    work_pool_name: str = Field(exclude=True)


class WorkerNotFound(ObjectNotFound):
    pass


def worker_sk(name: str) -> str:
    return f"{WORKER_PREFIX}{name}"


def offline_after(worker: Worker) -> datetime.datetime | None:
    if worker.last_heartbeat_time is None:
        return None
    grace = (worker.heartbeat_interval_seconds or DEFAULT_HEARTBEAT_INTERVAL_SECONDS) * INACTIVITY_HEARTBEAT_MULTIPLE
    return worker.last_heartbeat_time + datetime.timedelta(seconds=grace)


def to_item(worker: StoredWorker) -> TableItem:
    body = json.dumps({**worker.model_dump(mode="json"), "work_pool_name": worker.work_pool_name})
    item = TableItem(pool_key(worker.work_pool_name), worker_sk(worker.name), entity=ENTITY, body=body)
    if worker.status == WorkerStatus.ONLINE:
        item.GSI2PK = ONLINE_WORKERS
        item.GSI2SK = f"{sortable_time(offline_after(worker))}#{worker.work_pool_id}#{worker.name}"
    return item


def from_item(item: TableItem) -> StoredWorker:
    assert item.body is not None
    return StoredWorker.model_validate_json(item.body)


def with_live_status(worker: StoredWorker, now: datetime.datetime | None = None) -> StoredWorker:
    """The status a client sees: OFFLINE as soon as the grace period has run out."""
    if worker.status == WorkerStatus.ONLINE:
        live = worker_status(worker.last_heartbeat_time, worker.heartbeat_interval_seconds, now)
        if live != worker.status:
            return worker.model_copy(update={"status": live})
    return worker


# --- reads ------------------------------------------------------------------------


def read(pool_name: str, name: str) -> StoredWorker | None:
    item = store.get(pool_key(pool_name), worker_sk(name))
    return from_item(item) if item else None


def list_for_pool(pool_name: str, now: datetime.datetime | None = None) -> list[StoredWorker]:
    """Newest heartbeat first (never-heartbeated last), with live statuses."""
    workers = [with_live_status(from_item(i), now) for i in store.query(pool_key(pool_name), sk_prefix=WORKER_PREFIX)]
    return sorted(
        workers, key=lambda w: sortable_time(w.last_heartbeat_time) if w.last_heartbeat_time else "", reverse=True
    )


def filter_workers(
    pool_name: str, workers: WorkerFilter | None, offset: int = 0, limit: int | None = None
) -> list[StoredWorker]:
    matched = [w for w in list_for_pool(pool_name) if workers is None or workers.matches(w)]
    return matched[offset : None if limit is None else offset + limit]


def has_online_worker(pool_name: str, now: datetime.datetime | None = None) -> bool:
    return any(w.status == WorkerStatus.ONLINE for w in list_for_pool(pool_name, now))


# --- writes -----------------------------------------------------------------------


def heartbeat(
    pool: StoredWorkPool, name: str, interval_seconds: int | None, now: datetime.datetime | None = None
) -> StoredWorker:
    """Upsert the worker as ONLINE; a NOT_READY pool becomes READY (record_worker_heartbeat)."""
    stamp = now or now_utc()
    existing = read(pool.name, name)
    worker = StoredWorker(
        id=existing.id if existing else uuid4(),
        created=existing.created if existing else stamp,
        updated=stamp,
        name=name,
        work_pool_id=pool.id,
        work_pool_name=pool.name,
        last_heartbeat_time=stamp,
        heartbeat_interval_seconds=interval_seconds
        if interval_seconds is not None
        else (existing.heartbeat_interval_seconds if existing else None),
        status=WorkerStatus.ONLINE,
    )
    # Two heartbeats of one worker racing both write "online now": last writer wins harmlessly.
    store.put(to_item(worker))
    if pool.status == WorkPoolStatus.NOT_READY:
        pool_store.set_status(pool.name, WorkPoolStatus.READY, only_if=WorkPoolStatus.NOT_READY)
    return worker


def delete(pool_name: str, name: str) -> None:
    try:
        store.delete(TableItem(pool_key(pool_name), worker_sk(name)), condition=TableItem.PK.exists())
    except ConcurrentUpdate as exc:
        raise WorkerNotFound("Worker not found.") from exc


def delete_items_for_pool(pool_name: str) -> list[TableItem]:
    return [TableItem(pool_key(pool_name), worker_sk(w.name)) for w in list_for_pool(pool_name)]


# --- expiry (the reference's foreman) -----------------------------------------------


@dataclass
class ExpiryResult:
    workers_offline: int = 0
    pools_not_ready: int = 0
    deployments_not_ready: int = 0
    queues_not_ready: int = 0
    # (pool name, worker name) of the workers this tick marked OFFLINE: their runs are crashed
    # by shared.maintenance.worker_crashes.
    offline_workers: list[tuple[str, str]] = field(default_factory=list)


def _mark_offline_if_stale(hit: StoredWorker, now: datetime.datetime) -> bool:
    current = read(hit.work_pool_name, hit.name)
    if current is None or current.status != WorkerStatus.ONLINE:
        return False
    if worker_status(current.last_heartbeat_time, current.heartbeat_interval_seconds, now) == WorkerStatus.ONLINE:
        return False  # it heartbeated after the index entry was read
    offline = current.model_copy(update={"status": WorkerStatus.OFFLINE})
    # Written only if nobody heartbeated in between (the body is still the one just read).
    try:
        store.put(to_item(offline), condition=TableItem.body == to_item(current).body)
    except ConcurrentUpdate:
        return False
    return True


def expire(
    now: datetime.datetime | None = None, queue_poll_timeout: datetime.timedelta = queue_store.LAST_POLLED_TIMEOUT
) -> ExpiryResult:
    """Stale workers -> OFFLINE; READY pools without an online worker -> NOT_READY; READY
    deployments not polled (nor their queue) within 60 s -> NOT_READY; READY queues not polled
    within the timeout -> NOT_READY. Reads only the sparse indexes."""
    stamp = now or now_utc()
    result = ExpiryResult()
    stale = store.query(ONLINE_WORKERS, index="GSI2", sk_lte=f"{sortable_time(stamp)}~")
    offline = [w for w in map(from_item, stale) if _mark_offline_if_stale(w, stamp)]
    result.workers_offline = len(offline)
    result.offline_workers = [(w.work_pool_name, w.name) for w in offline]
    for pool in pool_store.list_ready():
        if has_online_worker(pool.name, stamp):
            continue
        try:
            updated = pool_store.set_status(pool.name, WorkPoolStatus.NOT_READY, only_if=WorkPoolStatus.READY)
        except pool_store.WorkPoolNotFound:
            continue  # deleted since the index was read
        result.pools_not_ready += updated.status == WorkPoolStatus.NOT_READY
    # The rule reads last_polled (the deployment's and its queue's), never the queue's status.
    result.deployments_not_ready = deployment_status.mark_not_ready_if_stale(stamp)
    result.queues_not_ready = queue_store.mark_not_ready_if_stale(
        queue_store.list_ready_polled_before(stamp - queue_poll_timeout), stamp - queue_poll_timeout
    )
    if result.workers_offline or result.pools_not_ready or result.deployments_not_ready or result.queues_not_ready:
        logger.info("worker expiry: %s", result)
    return result
