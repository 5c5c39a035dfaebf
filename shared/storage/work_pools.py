"""Work pools in the table.

A pool's name is immutable (WorkPoolUpdate has no name), so the name is the key: the
pool, its work queues and its workers share one partition, and every per-pool read
(pool + queues, pool + workers) is one strongly consistent GetItem/Query.

Access patterns:
- read by name ........... PK=WORK_POOL#<name>, SK=#META (put_new: the name is unique)
- read by id ............. PK=WORK_POOL_ID#<id>, SK=#META (pointer holding the name) -> by name
- list / filter / count .. GSI1PK=WORK_POOLS, GSI1SK=<name> (all pools, name order)
- READY pools ............ GSI2PK=WORK_POOLS#READY, GSI2SK=<name> (sparse: only while READY;
                           the worker-expiry function checks these for online workers)
- queues of a pool ....... PK=WORK_POOL#<name>, SK begins_with QUEUE#   (work_queues.py)
- workers of a pool ...... PK=WORK_POOL#<name>, SK begins_with WORKER#  (workers.py)

The body is the WorkPool JSON plus `sqs_queue_url`, the pool's dispatch queue (see
shared/dispatch/pool_queues.py). Writes are conditional on the `version` attribute.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from uuid import UUID

from pydantic import Field

from shared.schemas.base import now_utc
from shared.schemas.filters.deployments import WorkPoolFilter
from shared.schemas.work_pools import WorkPool, WorkPoolStatus
from shared.storage import store
from shared.storage.errors import ConcurrentUpdate, ObjectNotFound
from shared.storage.keys import key
from shared.storage.table import TableItem

ENTITY = "work_pool"
ALL_POOLS = "WORK_POOLS"
READY_POOLS = "WORK_POOLS#READY"
# The legacy agent pool type has no status, as in the reference.
AGENT_POOL_TYPE = "prefect-agent"
MAX_WRITE_ATTEMPTS = 6


class StoredWorkPool(WorkPool):
    """A pool plus what only the server needs (never serialised to clients)."""

    sqs_queue_url: str | None = Field(default=None, exclude=True)


class WorkPoolNotFound(ObjectNotFound):
    pass


def pool_key(name: str) -> str:
    return key("WORK_POOL", name)


def _id_key(pool_id: UUID | str) -> str:
    return key("WORK_POOL_ID", pool_id)


def _body(pool: StoredWorkPool) -> str:
    return json.dumps({**pool.model_dump(mode="json"), "sqs_queue_url": pool.sqs_queue_url})


def to_item(pool: StoredWorkPool, version: int) -> TableItem:
    item = TableItem(
        pool_key(pool.name),
        store.META,
        entity=ENTITY,
        body=_body(pool),
        version=version,
        GSI1PK=ALL_POOLS,
        GSI1SK=pool.name,
    )
    if pool.status == WorkPoolStatus.READY:
        item.GSI2PK, item.GSI2SK = READY_POOLS, pool.name
    return item


def id_pointer(pool: StoredWorkPool) -> TableItem:
    return TableItem(_id_key(pool.id), store.META, entity="work_pool_id", body=json.dumps({"name": pool.name}))


def from_item(item: TableItem) -> StoredWorkPool:
    assert item.body is not None
    return StoredWorkPool.model_validate_json(item.body)


def initial_status(pool_type: str, is_paused: bool) -> WorkPoolStatus | None:
    if pool_type == AGENT_POOL_TYPE:
        return None
    return WorkPoolStatus.PAUSED if is_paused else WorkPoolStatus.NOT_READY


def _load(name: str) -> tuple[StoredWorkPool, int] | None:
    item = store.get(pool_key(name))
    return (from_item(item), int(item.version or 0)) if item else None


def read_by_name(name: str) -> StoredWorkPool | None:
    loaded = _load(name)
    return loaded[0] if loaded else None


def read_by_name_or_404(name: str) -> StoredWorkPool:
    pool = read_by_name(name)
    if pool is None:
        raise WorkPoolNotFound(f'Work pool "{name}" not found.')
    return pool


def name_for_id(pool_id: UUID) -> str | None:
    pointer = store.get(_id_key(pool_id))
    return json.loads(pointer.body)["name"] if pointer and pointer.body else None


def read(pool_id: UUID) -> StoredWorkPool | None:
    name = name_for_id(pool_id)
    return read_by_name(name) if name is not None else None


def read_many(pool_ids: Iterable[UUID]) -> list[StoredWorkPool]:
    pointers = store.batch_get((_id_key(pid), store.META) for pid in pool_ids)
    names = [json.loads(p.body)["name"] for p in pointers if p.body]
    return list(store.readable(store.batch_get((pool_key(n), store.META) for n in names), from_item))


def list_all() -> list[StoredWorkPool]:
    return list(store.readable(store.query(ALL_POOLS, index="GSI1"), from_item))


def list_ready() -> list[StoredWorkPool]:
    # GSIs lag: re-check the status on the body.
    return [
        p for p in store.readable(store.query(READY_POOLS, index="GSI2"), from_item) if p.status == WorkPoolStatus.READY
    ]


def candidates(ids: list[UUID] | None = None, names: list[str] | None = None) -> list[StoredWorkPool]:
    """Narrowest read for a filter: by ids, by names, else every pool."""
    if ids is not None:
        return read_many(ids)
    if names is not None:
        found = store.batch_get((pool_key(n), store.META) for n in dict.fromkeys(names))
        return list(store.readable(found, from_item))
    return list_all()


def filter_work_pools(work_pools: WorkPoolFilter | None = None) -> list[StoredWorkPool]:
    """Pools matching the filter, name order; reads by ids or names when the filter pins them."""
    hints = work_pools.index_hints() if work_pools is not None else {}
    ids, names = hints.get("id"), hints.get("name")
    found = candidates(
        ids=[UUID(str(i)) for i in ids] if ids is not None else None,
        names=[str(n) for n in names] if names is not None and ids is None else None,
    )
    return sorted((p for p in found if work_pools is None or work_pools.matches(p)), key=lambda p: p.name)


def modify(name: str, change: Callable[[StoredWorkPool], StoredWorkPool | None]) -> StoredWorkPool:
    """Read-modify-write guarded by `version`; `change` returning None means "no write"."""
    for _ in range(MAX_WRITE_ATTEMPTS):
        loaded = _load(name)
        if loaded is None:
            raise WorkPoolNotFound(f'Work pool "{name}" not found.')
        pool, version = loaded
        updated = change(pool.model_copy(deep=True))
        if updated is None:
            return pool
        updated.updated = now_utc()
        try:
            store.put(to_item(updated, version + 1), condition=TableItem.version == version)
        except ConcurrentUpdate:
            continue
        return updated
    raise ConcurrentUpdate(pool_key(name))


def set_status(name: str, status: WorkPoolStatus, only_if: WorkPoolStatus | None = None) -> StoredWorkPool:
    """Change the status (agent pools keep None); `only_if` guards foreman-style transitions."""

    def change(pool: StoredWorkPool) -> StoredWorkPool | None:
        if pool.status is None or pool.status == status:
            return None
        if only_if is not None and pool.status != only_if:
            return None
        pool.status = status
        return pool

    return modify(name, change)
