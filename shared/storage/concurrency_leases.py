"""Concurrency leases: slots held on limits until an expiration the holder keeps renewing.

Access patterns (see ACCESS_PATTERNS.md):
- read by id ................ PK=CONCURRENCY_LEASE#<id>, SK=#META (body: the lease; `version`)
- expired leases (reaper) ... GSI1PK=CONCURRENCY_LEASES#EXPIRY, GSI1SK=<sortable expiration>#<id>
                              (range query `<= now`, soonest first)
- leases of a limit ......... PK=CONCURRENCY_LIMIT#<limit_id>, SK=LEASE#<lease_id> (body: holder);
                              v1 `active_slots` (task-run holders), release of a task run's
                              slots, v1 reset/delete

Every slot change is in ONE TransactWriteItems with the lease it belongs to:
- acquire: conditional UpdateItem per limit (`active_slots <= limit - n`) + put_new lease +
  its per-limit index items: under N concurrent acquirers a limit of k grants at most k;
- release / reap: delete the lease (condition: the version read, so a renewal racing the
  reaper wins) + give the slots back + delete the index items: a slot is released once.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from uuid import UUID, uuid4

from shared.schemas.concurrency_limits import ConcurrencyLease, ConcurrencyLeaseHolder
from shared.schemas.types import now_utc
from shared.storage import concurrency_limits as limit_store
from shared.storage import store
from shared.storage.concurrency_limits import StoredLimit
from shared.storage.errors import ConcurrentUpdate
from shared.storage.keys import key, sortable_time
from shared.storage.table import TableItem

ENTITY = "concurrency_lease"
EXPIRY_PARTITION = "CONCURRENCY_LEASES#EXPIRY"
MAX_WRITE_ATTEMPTS = 8
LEASE_INDEX_PREFIX = "LEASE#"


class SlotsExceedLimit(Exception):
    """More slots requested than a limit has (the reference's 422)."""


def lease_key(lease_id: UUID | str) -> str:
    return key("CONCURRENCY_LEASE", lease_id)


@dataclass
class Acquisition:
    limits: list[StoredLimit]  # the limits found for the names (active or not)
    lease: ConcurrencyLease | None  # None: refused (a limit is full)

    @property
    def acquired(self) -> bool:
        return self.lease is not None

    @property
    def active_limits(self) -> list[StoredLimit]:
        return [s for s in self.limits if s.limit.active]


# --- item mapping -------------------------------------------------------------------


def _item(lease: ConcurrencyLease, version: int) -> TableItem:
    return TableItem(
        lease_key(lease.id),
        store.META,
        entity=ENTITY,
        body=lease.model_dump_json(),
        version=version,
        GSI1PK=EXPIRY_PARTITION,
        GSI1SK=f"{sortable_time(lease.expiration)}#{lease.id}",
    )


def _index_item(limit_id: UUID, lease: ConcurrencyLease) -> TableItem:
    holder = lease.holder.model_dump(mode="json") if lease.holder else None
    return TableItem(
        limit_store.limit_key(limit_id),
        f"{LEASE_INDEX_PREFIX}{lease.id}",
        entity="concurrency_lease_index",
        body=json.dumps({"lease_id": str(lease.id), "holder": holder}),
    )


def load(lease_id: UUID) -> tuple[ConcurrencyLease, int] | None:
    """The lease and the version it was read at (for conditional writes)."""
    item = store.get(lease_key(lease_id))
    if item is None or item.body is None:
        return None
    return ConcurrencyLease.model_validate_json(item.body), int(item.version or 0)


def read(lease_id: UUID) -> ConcurrencyLease | None:
    loaded = load(lease_id)
    return loaded[0] if loaded else None


def read_live(lease_id: UUID, now: datetime.datetime | None = None) -> ConcurrencyLease | None:
    lease = read(lease_id)
    return lease if lease is not None and lease.expiration > (now or now_utc()) else None


# --- acquire ------------------------------------------------------------------------


def add_acquire(
    batch: store.WriteBatch, limits: list[StoredLimit], lease: ConcurrencyLease, now: datetime.datetime
) -> None:
    """Put the slot increments, the lease and its index items into `batch` (one transaction)."""
    for stored in limits:
        actions, condition = limit_store.acquire_actions(stored, lease.slots, now)
        batch.update(limit_store.key_item(stored.limit.id), actions, condition)
        batch.put_new(_index_item(stored.limit.id, lease))
    batch.put_new(_item(lease, 1))


def new_lease(
    limits: list[StoredLimit],
    slots: int,
    lease_seconds: float,
    holder: ConcurrencyLeaseHolder | None,
    now: datetime.datetime,
    lease_id: UUID | None = None,
) -> ConcurrencyLease:
    return ConcurrencyLease(
        id=lease_id or uuid4(),
        resource_ids=[s.limit.id for s in limits],
        slots=slots,
        holder=holder,
        created=now,
        expiration=now + datetime.timedelta(seconds=lease_seconds),
    )


def acquire(
    names: list[str], slots: int, lease_seconds: float, holder: ConcurrencyLeaseHolder | None = None
) -> Acquisition:
    """Take `slots` on every active limit among `names`, all or none, with a lease."""
    for _ in range(MAX_WRITE_ATTEMPTS):
        now = now_utc()
        limits = limit_store.read_by_names(names)
        active = [s for s in limits if s.limit.active]
        if any(s.limit.limit < slots for s in active):
            raise SlotsExceedLimit("Slots requested is greater than the limit")
        if not all(limit_store.fits(s, slots, now) for s in active):
            return Acquisition(limits, None)
        lease = new_lease(active, slots, lease_seconds, holder, now)
        batch = store.WriteBatch()
        add_acquire(batch, active, lease, now)
        try:
            store.transact(batch)
        except ConcurrentUpdate:
            continue  # another acquirer took the last slot (or the limit changed): re-read
        return Acquisition(limits, lease)
    return Acquisition(limit_store.read_by_names(names), None)


def hold_over_limit(stored: StoredLimit, holder: ConcurrencyLeaseHolder, lease_seconds: float) -> ConcurrencyLease:
    """One slot without the fit condition: a v1 reset's `slot_override` is an instruction,
    not a request, so it may exceed the limit (the reference does the same)."""
    now = now_utc()
    lease = new_lease([stored], 1, lease_seconds, holder, now)
    batch = store.WriteBatch()
    batch.update(limit_store.key_item(stored.limit.id), [TableItem.active_slots.add(1)], TableItem.PK.exists())
    batch.put_new(_index_item(stored.limit.id, lease))
    batch.put_new(_item(lease, 1))
    store.transact(batch)
    return lease


def increment(names: list[str], slots: int) -> Acquisition:
    """The lease-less /increment: the same conditional writes, no lease kept."""
    for _ in range(MAX_WRITE_ATTEMPTS):
        now = now_utc()
        limits = limit_store.read_by_names(names)
        active = [s for s in limits if s.limit.active]
        if any(s.limit.limit < slots for s in active):
            raise SlotsExceedLimit("Slots requested is greater than the limit")
        if not all(limit_store.fits(s, slots, now) for s in active):
            return Acquisition(limits, None)
        batch = store.WriteBatch()
        for stored in active:
            actions, condition = limit_store.acquire_actions(stored, slots, now)
            batch.update(limit_store.key_item(stored.limit.id), actions, condition)
        try:
            if len(batch):
                store.transact(batch)
        except ConcurrentUpdate:
            continue
        # A placeholder lease object only tells the caller it succeeded; nothing is stored.
        return Acquisition(limits, new_lease(active, slots, 0, None, now))
    return Acquisition(limit_store.read_by_names(names), None)


def decrement(names: list[str], slots: int, occupancy_seconds: float | None) -> list[StoredLimit]:
    """The lease-less /decrement: give slots back on the active limits among `names`."""
    limits = limit_store.read_by_names(names)
    for stored in limits:
        if not stored.limit.active:
            continue
        for _ in range(MAX_WRITE_ATTEMPTS):
            actions, condition = limit_store.release_actions(stored, slots, now_utc(), occupancy_seconds)
            try:
                store.update(limit_store.key_item(stored.limit.id), actions, condition)
                break
            except ConcurrentUpdate:
                refreshed = limit_store.read(stored.limit.id)
                if refreshed is None:
                    break
                stored = refreshed
    return limits


# --- release / renew / reap -----------------------------------------------------------


def add_release(
    batch: store.WriteBatch,
    lease: ConcurrencyLease,
    version: int,
    now: datetime.datetime,
    expired_before: datetime.datetime | None = None,
) -> None:
    """Delete the lease (as read) and give its slots back, into `batch` (one transaction).

    `expired_before`: reaping; the delete also requires the expiration still be past it."""
    condition = TableItem.version == version
    if expired_before is not None:
        condition = condition & (f"{sortable_time(expired_before)}~" >= TableItem.GSI1SK)
    batch.delete(TableItem(lease_key(lease.id), store.META), condition)
    limits = limit_store.read_many(lease.resource_ids)
    # A reaped lease's holder is gone: its occupancy says nothing about normal use.
    occupancy = None if expired_before is not None else lease.occupancy_seconds(now)
    for limit_id in lease.resource_ids:
        batch.delete(TableItem(limit_store.limit_key(limit_id), f"{LEASE_INDEX_PREFIX}{lease.id}"))
        stored = limits.get(limit_id)
        if stored is None:
            continue  # the limit was deleted meanwhile: nothing to give back
        actions, cond = limit_store.release_actions(stored, lease.slots, now, occupancy)
        batch.update(limit_store.key_item(limit_id), actions, cond)


def release(lease_id: UUID, expired_before: datetime.datetime | None = None) -> bool:
    """Revoke a lease and release its slots; False if it is gone (already released/reaped),
    or, when reaping (`expired_before`), if it was renewed past that time meanwhile."""
    for _ in range(MAX_WRITE_ATTEMPTS):
        loaded = load(lease_id)
        if loaded is None:
            return False
        lease, version = loaded
        if expired_before is not None and lease.expiration > expired_before:
            return False
        batch = store.WriteBatch()
        add_release(batch, lease, version, now_utc(), expired_before)
        try:
            store.transact(batch)
        except ConcurrentUpdate:
            continue
        return True
    raise ConcurrentUpdate(lease_key(lease_id))


def add_renew(
    batch: store.WriteBatch, lease: ConcurrencyLease, version: int, lease_seconds: float, now: datetime.datetime
) -> None:
    renewed = lease.model_copy(update={"expiration": now + datetime.timedelta(seconds=lease_seconds)})
    batch.put(_item(renewed, version + 1), TableItem.version == version)


def renew(lease_id: UUID, lease_seconds: float) -> bool:
    """Push the expiration out; False (410) when the lease is unknown or already expired."""
    for _ in range(MAX_WRITE_ATTEMPTS):
        loaded = load(lease_id)
        now = now_utc()
        if loaded is None or loaded[0].expiration <= now:
            return False
        lease, version = loaded
        batch = store.WriteBatch()
        add_renew(batch, lease, version, lease_seconds, now)
        try:
            store.transact(batch)
        except ConcurrentUpdate:
            continue  # released, reaped or renewed meanwhile: look again
        return True
    raise ConcurrentUpdate(lease_key(lease_id))


def expired(now: datetime.datetime, limit: int = 100) -> list[UUID]:
    """Ids of leases past their expiration, soonest first (GSI1; re-checked on release)."""
    items = store.query(EXPIRY_PARTITION, index="GSI1", sk_lte=f"{sortable_time(now)}~", limit=limit)
    return [UUID(item.PK.split("#", 1)[1]) for item in items]


def reap(now: datetime.datetime | None = None, batch_size: int = 100) -> int:
    """Release every expired lease once; a lease renewed meanwhile is left alone."""
    released = 0
    now = now or now_utc()
    for lease_id in expired(now, batch_size):
        if release(lease_id, expired_before=now):
            released += 1
    return released


# --- per-limit views --------------------------------------------------------------------


def leases_of_limit(limit_id: UUID) -> list[tuple[UUID, ConcurrencyLeaseHolder | None]]:
    found: list[tuple[UUID, ConcurrencyLeaseHolder | None]] = []
    for item in store.query(limit_store.limit_key(limit_id), sk_prefix=LEASE_INDEX_PREFIX):
        body = json.loads(item.body or "{}")
        holder = ConcurrencyLeaseHolder.model_validate(body["holder"]) if body.get("holder") else None
        found.append((UUID(body["lease_id"]), holder))
    return found


def task_run_holders(limit_id: UUID) -> list[UUID]:
    """The v1 view's `active_slots`: task runs holding a slot on this limit."""
    return [h.id for _, h in leases_of_limit(limit_id) if h is not None and h.type == "task_run"]


def leases_held_by(limit_ids: list[UUID], holder_id: UUID) -> set[UUID]:
    return {
        lid for limit_id in limit_ids for lid, h in leases_of_limit(limit_id) if h is not None and h.id == holder_id
    }


def revoke_all(limit_id: UUID) -> int:
    """Release every lease on a limit (v1 reset / delete)."""
    return sum(release(lease_id) for lease_id, _ in leases_of_limit(limit_id))


def delete_limit(stored: StoredLimit) -> None:
    """Delete a limit and its per-limit lease index. Leases naming it stay until released or
    reaped; their release skips a limit that no longer exists."""
    limit_store.delete(stored)
    for item in list(store.query(limit_store.limit_key(stored.limit.id), sk_prefix=LEASE_INDEX_PREFIX)):
        store.delete_key(item.PK, item.SK)
