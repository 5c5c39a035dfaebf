"""v1 (tag) concurrency limits as a view of the v2 limits named `tag:<tag>`, as the
reference serves them: no v1 item is stored; `active_slots` lists the task runs holding a
lease on the limit (per-limit lease index, no Scan)."""

from __future__ import annotations

from uuid import UUID

from shared.schemas.concurrency_limits import (
    TAG_PREFIX,
    V1_LEASE_SECONDS,
    ConcurrencyLeaseHolder,
    ConcurrencyLimit,
    ConcurrencyLimitV2Create,
    ConcurrencyLimitV2Update,
    tag_limit_name,
)
from shared.schemas.types import now_utc
from shared.storage import concurrency_leases as lease_store
from shared.storage import concurrency_limits as limit_store
from shared.storage.concurrency_limits import ConcurrencyLimitNotFound, StoredLimit
from shared.storage.errors import ConcurrentUpdate, ObjectAlreadyExists


class TagLimitIsZero(Exception):
    """A limit of 0 would deadlock the task (423)."""


class TagLimitReached(Exception):
    """A tag limit is full (423 with Retry-After)."""


def view(stored: StoredLimit) -> ConcurrencyLimit:
    return ConcurrencyLimit(
        id=stored.limit.id,
        tag=stored.limit.name.removeprefix(TAG_PREFIX),
        concurrency_limit=stored.limit.limit,
        active_slots=lease_store.task_run_holders(stored.limit.id),
        created=stored.limit.created,
        updated=stored.limit.updated,
    )


def upsert(tag: str, limit: int) -> tuple[ConcurrencyLimit, bool]:
    """Create the `tag:<tag>` limit, or set its limit if it exists: (view, created)."""
    name = tag_limit_name(tag)
    for _ in range(limit_store.MAX_WRITE_ATTEMPTS):
        if limit_store.id_for_name(name) is not None:
            try:
                return view(limit_store.update(name, ConcurrencyLimitV2Update(limit=limit))), False
            except ConcurrencyLimitNotFound:
                continue  # deleted meanwhile: create it
        try:
            return view(limit_store.create(ConcurrencyLimitV2Create(name=name, limit=limit))), True
        except ObjectAlreadyExists:
            continue  # a concurrent create won: update theirs
    raise ConcurrentUpdate(name)


def read_by_id(limit_id: UUID) -> ConcurrencyLimit:
    stored = limit_store.read(limit_id)
    if stored is None or not stored.limit.name.startswith(TAG_PREFIX):
        raise ConcurrencyLimitNotFound("Concurrency limit not found")
    return view(stored)


def read_stored_by_tag(tag: str) -> StoredLimit:
    stored = limit_store.read_by_name(tag_limit_name(tag))
    if stored is None:
        raise ConcurrencyLimitNotFound("Concurrency limit not found")
    return stored


def list_views(offset: int, limit: int) -> list[ConcurrencyLimit]:
    return [view(s) for s in limit_store.list_limits(offset, limit, name_prefix=TAG_PREFIX)]


def reset(tag: str, slot_override: list[UUID] | None) -> None:
    """Revoke every lease on the tag's limit, then hold one slot per overriding task run."""
    stored = read_stored_by_tag(tag)
    lease_store.revoke_all(stored.limit.id)
    for task_run_id in slot_override or []:
        current = limit_store.read(stored.limit.id)
        if current is None:
            return
        lease_store.hold_over_limit(current, ConcurrencyLeaseHolder(type="task_run", id=task_run_id), V1_LEASE_SECONDS)


def delete(stored: StoredLimit) -> None:
    lease_store.revoke_all(stored.limit.id)
    lease_store.delete_limit(stored)


def increment(tags: list[str], task_run_id: UUID) -> list[tuple[str, StoredLimit]]:
    """Take one slot on every active tag limit for a task run (v1 leases never expire)."""
    limits = limit_store.read_by_names([tag_limit_name(t) for t in tags])
    for stored in limits:
        if stored.limit.active and stored.limit.limit == 0:
            raise TagLimitIsZero(
                f'The concurrency limit on tag "{stored.limit.name.removeprefix(TAG_PREFIX)}" is 0 and will '
                "deadlock if the task tries to run again."
            )
    active_names = [s.limit.name for s in limits if s.limit.active]
    if not active_names:
        return []
    acquisition = lease_store.acquire(
        active_names, 1, V1_LEASE_SECONDS, ConcurrencyLeaseHolder(type="task_run", id=task_run_id)
    )
    if not acquisition.acquired:
        full = next(
            (s for s in acquisition.active_limits if not limit_store.fits(s, 1, now_utc())),
            acquisition.active_limits[0],
        )
        raise TagLimitReached(
            f"Concurrency limit for the {full.limit.name.removeprefix(TAG_PREFIX)} tag has been reached"
        )
    return [(s.limit.name.removeprefix(TAG_PREFIX), s) for s in acquisition.active_limits]


def decrement(tags: list[str], task_run_id: UUID) -> list[StoredLimit]:
    """Release the leases a task run holds on these tags' limits."""
    limits = limit_store.read_by_names([tag_limit_name(t) for t in tags])
    for lease_id in lease_store.leases_held_by([s.limit.id for s in limits], task_run_id):
        lease_store.release(lease_id)
    return limits
