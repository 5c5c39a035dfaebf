"""Work queues in the table: items in their pool's partition.

Access patterns:
- read by (pool, name) ... PK=WORK_POOL#<pool name>, SK=QUEUE#<queue name> (put_new: a queue
                           name is unique within its pool, no separate guard item)
- queues of a pool ....... PK=WORK_POOL#<pool name>, SK begins_with QUEUE# (one consistent
                           Query; sorted by priority in memory, pools have few queues)
- read by id ............. PK=WORK_QUEUE#<id>, SK=#META (pointer holding pool + name) -> by name
- list / filter (all) .... GSI1PK=WORK_QUEUES, GSI1SK=<queue name>#<id> (name order, as the
                           reference's /work_queues/filter); by name across pools: the same
                           index with begins_with <name>#
- READY queues by poll ... GSI2PK=WORK_QUEUES#READY, GSI2SK=<sortable last_polled>#<id> (sparse:
                           only while READY; worker expiry reads `last_polled < now-60s`)

Priorities stay unique, positive and gap-free-ish like the reference's: a change moves one
queue and renumbers the ones after it, written in one transaction.
"""

from __future__ import annotations

import datetime
import json
import random
import time
from collections.abc import Callable, Iterable
from functools import partial
from uuid import UUID

from shared.schemas.base import now_utc
from shared.schemas.filters.deployments import WorkQueueFilter
from shared.schemas.work_pools import WorkQueue, WorkQueueCreate, WorkQueueStatus, WorkQueueUpdate
from shared.storage import store
from shared.storage import work_pools as pool_store
from shared.storage.errors import ConcurrentUpdate, ObjectAlreadyExists, ObjectNotFound, StorageError
from shared.storage.keys import key, sortable_time
from shared.storage.table import TableItem
from shared.storage.work_pools import StoredWorkPool, pool_key

ENTITY = "work_queue"
QUEUE_PREFIX = "QUEUE#"
ALL_QUEUES = "WORK_QUEUES"
READY_QUEUES = "WORK_QUEUES#READY"
DEFAULT_QUEUE_NAME = "default"
DEFAULT_QUEUE_DESCRIPTION = "The work pool's default queue."
# A queue polled within this window counts as READY (the reference's 60 s).
LAST_POLLED_TIMEOUT = datetime.timedelta(seconds=60)


class WorkQueueNotFound(ObjectNotFound):
    pass


class DefaultQueueDeletion(StorageError):
    """A pool's default queue cannot be deleted."""


def queue_sk(name: str) -> str:
    return f"{QUEUE_PREFIX}{name}"


def _id_key(queue_id: UUID | str) -> str:
    return key("WORK_QUEUE", queue_id)


def to_item(queue: WorkQueue, version: int) -> TableItem:
    assert queue.work_pool_name is not None
    item = TableItem(
        pool_key(queue.work_pool_name),
        queue_sk(queue.name),
        entity=ENTITY,
        # active_slots is computed per response, never stored.
        body=queue.model_copy(update={"active_slots": None}).model_dump_json(),
        version=version,
        GSI1PK=ALL_QUEUES,
        GSI1SK=f"{queue.name}#{queue.id}",
    )
    if queue.status == WorkQueueStatus.READY:
        item.GSI2PK, item.GSI2SK = READY_QUEUES, f"{sortable_time(queue.last_polled)}#{queue.id}"
    return item


def id_pointer(queue: WorkQueue) -> TableItem:
    body = json.dumps({"pool": queue.work_pool_name, "name": queue.name})
    return TableItem(_id_key(queue.id), store.META, entity="work_queue_id", body=body)


def _decode(item: TableItem) -> tuple[WorkQueue, int]:
    assert item.body is not None
    return WorkQueue.model_validate_json(item.body), int(item.version or 0)


def new_queue(pool: StoredWorkPool, create: WorkQueueCreate, priority: int) -> WorkQueue:
    stamp = now_utc()
    return WorkQueue(
        **create.model_dump(exclude={"priority"}),
        priority=priority,
        work_pool_id=pool.id,
        work_pool_name=pool.name,
        status=WorkQueueStatus.PAUSED if create.is_paused else WorkQueueStatus.NOT_READY,
        created=stamp,
        updated=stamp,
    )


def default_queue_for(pool: StoredWorkPool) -> WorkQueue:
    return new_queue(pool, WorkQueueCreate(name=DEFAULT_QUEUE_NAME, description=DEFAULT_QUEUE_DESCRIPTION), 1)


# --- reads ------------------------------------------------------------------------


def _load(pool_name: str, name: str) -> tuple[WorkQueue, int] | None:
    item = store.get(pool_key(pool_name), queue_sk(name))
    return _decode(item) if item else None


def read_by_name(pool_name: str, name: str) -> WorkQueue | None:
    loaded = _load(pool_name, name)
    return loaded[0] if loaded else None


def read_by_name_or_404(pool_name: str, name: str) -> WorkQueue:
    queue = read_by_name(pool_name, name)
    if queue is None:
        raise WorkQueueNotFound(f"Work pool queue '{pool_name}/{name}' not found.")
    return queue


def _pointer(queue_id: UUID) -> tuple[str, str] | None:
    item = store.get(_id_key(queue_id))
    if item is None or not item.body:
        return None
    data = json.loads(item.body)
    return data["pool"], data["name"]


def read(queue_id: UUID) -> WorkQueue | None:
    where = _pointer(queue_id)
    return read_by_name(*where) if where else None


def read_or_404(queue_id: UUID) -> WorkQueue:
    queue = read(queue_id)
    if queue is None:
        raise WorkQueueNotFound("work queue not found")
    return queue


def read_many(queue_ids: Iterable[UUID]) -> list[WorkQueue]:
    pointers = store.batch_get((_id_key(qid), store.META) for qid in queue_ids)
    keys = [(pool_key(d["pool"]), queue_sk(d["name"])) for d in (json.loads(p.body) for p in pointers if p.body)]
    return [_decode(item)[0] for item in store.batch_get(keys)]


def _pool_items(pool_name: str) -> list[tuple[WorkQueue, int]]:
    return [_decode(item) for item in store.query(pool_key(pool_name), sk_prefix=QUEUE_PREFIX)]


def list_for_pool(pool_name: str) -> list[WorkQueue]:
    """A pool's queues, highest priority (lowest number) first, as the reference orders them."""
    return sorted((q for q, _ in _pool_items(pool_name)), key=lambda q: (q.priority, q.name))


def list_all() -> list[WorkQueue]:
    return [_decode(item)[0] for item in store.query(ALL_QUEUES, index="GSI1")]


def read_any_pool_by_name(name: str) -> list[WorkQueue]:
    found = (_decode(item)[0] for item in store.query(ALL_QUEUES, index="GSI1", sk_prefix=f"{name}#"))
    return [q for q in found if q.name == name]


def list_ready_polled_before(threshold: datetime.datetime) -> list[WorkQueue]:
    items = store.query(READY_QUEUES, index="GSI2", sk_lte=f"{sortable_time(threshold)}~")
    return [q for q, _ in map(_decode, items) if q.status == WorkQueueStatus.READY]


def filter_work_queues(work_queues: WorkQueueFilter | None = None) -> list[WorkQueue]:
    """Queues of every pool matching the filter, name order (POST /work_queues/filter)."""
    hints = work_queues.index_hints() if work_queues is not None else {}
    if "id" in hints:
        found = read_many(UUID(str(i)) for i in hints["id"])
    elif "name" in hints:
        found = [q for n in dict.fromkeys(hints["name"]) for q in read_any_pool_by_name(str(n))]
    else:
        found = list_all()
    matched = (q for q in found if work_queues is None or work_queues.matches(q))
    return sorted(matched, key=lambda q: (q.name, str(q.id)))


def resolve_for_run(pool_name: str, queue_name: str | None = None) -> WorkQueue:
    """The queue a new flow run lands in: the named queue of the pool, else the pool's default
    queue (POST /flow_runs/ and create_flow_run with work_pool_name / work_queue_name). 404s."""
    pool = pool_store.read_by_name_or_404(pool_name)
    if queue_name:
        return read_by_name_or_404(pool_name, queue_name)
    queue = read(pool.default_queue_id) if pool.default_queue_id else None
    if queue is None:
        raise WorkQueueNotFound(f'Work pool "{pool_name}" has no default queue.')
    return queue


# --- priorities -------------------------------------------------------------------


def first_free_priority(taken: Iterable[int]) -> int:
    """The lowest priority not yet used (fills gaps first), as the reference assigns."""
    used = set(taken)
    candidate = 1
    while candidate in used:
        candidate += 1
    return candidate


def renumber(queues: list[WorkQueue], moved: WorkQueue | None) -> list[WorkQueue]:
    """Place `moved` at its requested priority and push later queues down so priorities stay unique.

    Queues keep their relative order and only the ones that must change do.
    """
    ordered = sorted((q for q in queues if moved is None or q.id != moved.id), key=lambda q: q.priority)
    if moved is not None:
        index = next((i for i, q in enumerate(ordered) if q.priority >= moved.priority), len(ordered))
        ordered.insert(index, moved)
    last = 0
    result: list[WorkQueue] = []
    for queue in ordered:
        if queue.priority <= last:
            queue = queue.model_copy(update={"priority": last + 1})
        last = queue.priority
        result.append(queue)
    return result


def _write(pool_name: str, changed: list[WorkQueue], new: WorkQueue | None = None) -> None:
    """Write `new` (put_new) and every queue whose body changed, all or nothing."""
    current = {q.id: (q, v) for q, v in _pool_items(pool_name)}
    batch = store.WriteBatch()
    stamp = now_utc()
    for queue in changed:
        if new is not None and queue.id == new.id:
            continue
        old, version = current[queue.id]
        if old == queue:
            continue
        batch.put(to_item(queue.model_copy(update={"updated": stamp}), version + 1), TableItem.version == version)
    if new is not None:
        batch.put_new(to_item(new, 1)).put_new(id_pointer(new))
    if batch.puts:
        store.transact(batch)


# --- writes -----------------------------------------------------------------------


def create(pool: StoredWorkPool, create: WorkQueueCreate) -> WorkQueue:
    """Add a queue to a pool; 409 when the name is taken in that pool."""
    existing = list_for_pool(pool.name)
    if any(q.name == create.name for q in existing):
        raise ObjectAlreadyExists(f"A work queue with this name already exists in work pool {pool.name!r}.")
    priority = create.priority or first_free_priority(q.priority for q in existing)
    queue = new_queue(pool, create, priority)
    ordered = renumber(existing, queue) if create.priority else existing
    try:
        _write(pool.name, ordered, new=queue)
    except (ObjectAlreadyExists, ConcurrentUpdate) as exc:
        if read_by_name(pool.name, create.name) is not None:
            raise ObjectAlreadyExists(
                f"A work queue with this name already exists in work pool {pool.name!r}."
            ) from exc
        raise
    return queue


def _status_after(queue: WorkQueue, values: dict[str, object], now: datetime.datetime) -> WorkQueueStatus | None:
    """The reference's pause rules: pausing -> PAUSED; unpausing a PAUSED queue -> READY if polled recently."""
    if "is_paused" not in values:
        return queue.status
    if values["is_paused"] and queue.status != WorkQueueStatus.PAUSED:
        return WorkQueueStatus.PAUSED
    if values["is_paused"] is False and queue.status == WorkQueueStatus.PAUSED:
        last_polled = values.get("last_polled", queue.last_polled)
        recent = isinstance(last_polled, datetime.datetime) and now - last_polled <= LAST_POLLED_TIMEOUT
        return WorkQueueStatus.READY if recent else WorkQueueStatus.NOT_READY
    return queue.status


MAX_UPDATE_ATTEMPTS = 6


def update(queue: WorkQueue, changes: WorkQueueUpdate) -> WorkQueue:
    """Apply a PATCH; a lost race (a worker's poll stamped the queue meanwhile) is re-applied on a fresh read.

    Polls write last_polled on every get_scheduled_flow_runs, so with workers polling a single attempt
    lost about one update in four (a 503); the pool PATCH already retried the same way."""
    for attempt in range(MAX_UPDATE_ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0.005, 0.03) * attempt)
            fresh = read(queue.id)
            if fresh is None:
                raise WorkQueueNotFound("work queue not found")
            queue = fresh
        try:
            return _update_once(queue, changes)
        except ConcurrentUpdate:
            continue
    raise ConcurrentUpdate(queue.name)


def _update_once(queue: WorkQueue, changes: WorkQueueUpdate) -> WorkQueue:
    values = changes.model_dump(exclude_unset=True)
    if values.get("name") is None:
        values.pop("name", None)
    if "priority" in values and values["priority"] is None:
        values.pop("priority")
    now = now_utc()
    updated = queue.model_copy(update={**values, "status": _status_after(queue, values, now), "updated": now})
    updated = WorkQueue.model_validate(updated.model_dump())
    pool_name = queue.work_pool_name or ""
    if updated.name != queue.name:
        _rename(queue, updated)
    siblings = list_for_pool(pool_name)
    if "priority" in values:
        ordered = renumber(siblings, updated)
    else:
        ordered = [updated if q.id == updated.id else q for q in siblings]
    _write(pool_name, ordered)
    return next(q for q in ordered if q.id == updated.id)


def _rename(old: WorkQueue, new: WorkQueue) -> None:
    loaded = _load(old.work_pool_name or "", old.name)
    if loaded is None:
        raise WorkQueueNotFound("work queue not found")
    _, version = loaded
    batch = store.WriteBatch()
    batch.delete(TableItem(pool_key(old.work_pool_name or ""), queue_sk(old.name)), TableItem.version == version)
    batch.put_new(to_item(new.model_copy(update={"priority": old.priority}), version + 1)).put(id_pointer(new))
    try:
        store.transact(batch, on_conflict=ObjectAlreadyExists)
    except ObjectAlreadyExists as exc:
        if read_by_name(old.work_pool_name or "", new.name) is not None:
            raise ObjectAlreadyExists("A work queue with this name already exists.") from exc
        raise ConcurrentUpdate(old.name) from exc


def delete(pool: StoredWorkPool, queue: WorkQueue) -> None:
    if pool.default_queue_id == queue.id:
        raise DefaultQueueDeletion("Can't delete a pool's default queue.")
    batch = store.WriteBatch()
    batch.delete(TableItem(pool_key(pool.name), queue_sk(queue.name)))
    batch.delete(TableItem(_id_key(queue.id), store.META))
    store.transact(batch)
    _write(pool.name, renumber(list_for_pool(pool.name), None))


def delete_items_for_pool(pool: StoredWorkPool) -> store.WriteBatch:
    """Items to delete with a pool: every queue and its id pointer."""
    batch = store.WriteBatch()
    for queue in list_for_pool(pool.name):
        batch.delete(TableItem(pool_key(pool.name), queue_sk(queue.name)))
        batch.delete(TableItem(_id_key(queue.id), store.META))
    return batch


def _set_fields(queue: WorkQueue, still: Callable[[WorkQueue], bool], **fields: object) -> bool:
    """Best-effort bookkeeping write (polls, foreman) on the current item, if `still` holds for it.

    A lost race is skipped: the next poll or expiry tick repeats the bookkeeping.
    """
    loaded = _load(queue.work_pool_name or "", queue.name)
    if loaded is None:
        return False
    current, version = loaded
    if not still(current):
        return False
    try:
        store.put(to_item(current.model_copy(update=fields), version + 1), condition=TableItem.version == version)
    except ConcurrentUpdate:
        return False
    return True


def _status_is(status: WorkQueueStatus | None, current: WorkQueue) -> bool:
    return current.status == status


def record_polls(queues: Iterable[WorkQueue], now: datetime.datetime | None = None) -> None:
    """A worker polled these queues: stamp last_polled, NOT_READY -> READY (mark_work_queues_ready)."""
    stamp = now or now_utc()
    for queue in queues:
        fields: dict[str, object] = {"last_polled": stamp}
        if queue.status == WorkQueueStatus.NOT_READY:
            fields["status"] = WorkQueueStatus.READY
        # A poll never un-pauses: only a queue whose status is unchanged since the read is stamped.
        _set_fields(queue, partial(_status_is, queue.status), **fields)


def mark_not_ready_if_stale(queues: Iterable[WorkQueue], threshold: datetime.datetime) -> int:
    """READY queues nobody polled since `threshold` become NOT_READY (the foreman's rule)."""

    def stale(current: WorkQueue) -> bool:
        polled = current.last_polled
        return current.status == WorkQueueStatus.READY and polled is not None and polled < threshold

    return sum(_set_fields(queue, stale, status=WorkQueueStatus.NOT_READY) for queue in queues)
