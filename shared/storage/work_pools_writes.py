"""A work pool's writes that span its queues and workers (the pool aggregate's children).

Storage's upper floor: the work-pools repository below knows only the pool's own items;
creating a pool writes its `default` queue in the same transaction, and deleting it deletes
its queues and workers first (the reference's cascade).
"""

from __future__ import annotations

from shared.storage import store
from shared.storage import work_queues as queue_store
from shared.storage import workers as worker_store
from shared.storage.errors import ObjectAlreadyExists
from shared.storage.table import TableItem
from shared.storage.work_pools import StoredWorkPool, id_pointer, pool_key, to_item


def create(pool: StoredWorkPool) -> StoredWorkPool:
    """Write the pool with its `default` queue in one transaction; 409 if the name is taken."""
    default_queue = queue_store.default_queue_for(pool)
    pool = pool.model_copy(update={"default_queue_id": default_queue.id})
    batch = store.WriteBatch().put_new(to_item(pool, 1)).put_new(id_pointer(pool))
    batch.put_new(queue_store.to_item(default_queue, 1)).put_new(queue_store.id_pointer(default_queue))
    try:
        store.transact(batch, on_conflict=ObjectAlreadyExists)
    except ObjectAlreadyExists as exc:
        raise ObjectAlreadyExists("A work pool with this name already exists.") from exc
    return pool


def delete(pool: StoredWorkPool) -> None:
    """Delete the pool, its queues and its workers (the reference's cascade)."""
    batch = queue_store.delete_items_for_pool(pool)
    for item in worker_store.delete_items_for_pool(pool.name):
        batch.delete(item)
    # Children first in chunks (a transaction holds at most 100 items), the pool itself last.
    items = [item for item, _ in batch.deletes]
    for start in range(0, len(items), 90):
        chunk = store.WriteBatch()
        for item in items[start : start + 90]:
            chunk.delete(item)
        store.transact(chunk)
    store.transact(store.WriteBatch().delete(TableItem(pool_key(pool.name), store.META)).delete(id_pointer(pool)))
