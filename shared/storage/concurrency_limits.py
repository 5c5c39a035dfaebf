"""Global (v2) concurrency limits: the stored objects and their slot counters.

Access patterns (see ACCESS_PATTERNS.md):
- read by id ............ PK=CONCURRENCY_LIMIT#<id>, SK=#META
- read by name / unique . guard PK=CONCURRENCY_LIMIT_NAME#<name>, SK=#META (body: the id),
                          written in the same transaction as the limit (and moved on rename)
- list (name order) ..... GSI1PK=CONCURRENCY_LIMITS, GSI1SK=<name>; tag limits are the
                          `tag:` prefix of that range (the v1 routes)

The body holds the static fields (name, limit, active, decay) under `version`; the slot
counters are attributes changed by conditional UpdateItem only, so that "active_slots + n
<= limit" and the increment are ONE atomic write (no read-modify-write race between
acquirers). A changed limit/active flag bumps `version`, which every acquire conditions on.
"""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from pynamodb.expressions.condition import Condition

from shared.schemas.concurrency_limits import (
    MINIMUM_OCCUPANCY_SECONDS_PER_SLOT,
    OCCUPANCY_SAMPLES_MULTIPLIER,
    ConcurrencyLimitV2,
    ConcurrencyLimitV2Create,
    ConcurrencyLimitV2Update,
    GlobalConcurrencyLimitResponse,
)
from shared.schemas.types import now_utc
from shared.storage import store
from shared.storage.errors import ConcurrentUpdate, ObjectAlreadyExists, ObjectNotFound
from shared.storage.keys import key
from shared.storage.table import TableItem

ENTITY = "concurrency_limit_v2"
ALL_LIMITS = "CONCURRENCY_LIMITS"
MAX_WRITE_ATTEMPTS = 8


class ConcurrencyLimitNotFound(ObjectNotFound):
    pass


def limit_key(limit_id: UUID | str) -> str:
    return key("CONCURRENCY_LIMIT", limit_id)


def name_key(name: str) -> str:
    return key("CONCURRENCY_LIMIT_NAME", name)


def _epoch(value: datetime.datetime) -> float:
    return value.timestamp()


def _faded(count: int, gone: float) -> int:
    """What is left of `count` after `gone` slots faded. Compared before flooring: a huge decay rate
    (any float >= 0 is a valid one) makes `gone` infinite, which math.floor cannot turn into an int."""
    if gone >= count:
        return 0
    return count - math.floor(gone)


@dataclass
class StoredLimit:
    """A limit as read: the model (counters as stored) plus what conditions need."""

    limit: ConcurrencyLimitV2
    version: int
    raw_active_slots: int
    slots_changed_at: float
    raw_denied_slots: int
    denied_changed_at: float

    def active_slots_at(self, now: datetime.datetime) -> int:
        """Slots after decay (rate limits give slots back at slot_decay_per_second)."""
        decay = self.limit.slot_decay_per_second
        if decay <= 0:
            return self.raw_active_slots
        elapsed = max(_epoch(now) - self.slots_changed_at, 0.0)
        return _faded(self.raw_active_slots, decay * elapsed)

    def denied_slots_at(self, now: datetime.datetime, max_wait: float) -> int:
        """Denied slots fade at the decay rate, or one per (clamped) average occupancy."""
        if self.limit.slot_decay_per_second > 0:
            rate = self.limit.slot_decay_per_second
        else:
            occupancy = max(MINIMUM_OCCUPANCY_SECONDS_PER_SLOT, min(self.limit.avg_slot_occupancy_seconds, max_wait))
            rate = 1.0 / occupancy
        elapsed = max(_epoch(now) - self.denied_changed_at, 0.0)
        return _faded(self.raw_denied_slots, rate * elapsed)

    def response(self, now: datetime.datetime | None = None) -> GlobalConcurrencyLimitResponse:
        return GlobalConcurrencyLimitResponse.model_validate(
            {**self.limit.model_dump(), "active_slots": self.active_slots_at(now or now_utc())}
        )

    def model(self, now: datetime.datetime | None = None) -> ConcurrencyLimitV2:
        return self.limit.model_copy(update={"active_slots": self.active_slots_at(now or now_utc())})


# --- item mapping -------------------------------------------------------------------


def _static_body(limit: ConcurrencyLimitV2) -> str:
    return limit.model_dump_json(exclude={"active_slots", "denied_slots", "avg_slot_occupancy_seconds"})


def _item(limit: ConcurrencyLimitV2, version: int, now: datetime.datetime) -> TableItem:
    return TableItem(
        limit_key(limit.id),
        store.META,
        entity=ENTITY,
        body=_static_body(limit),
        version=version,
        active_slots=limit.active_slots,
        denied_slots=limit.denied_slots,
        avg_slot_occupancy_seconds=limit.avg_slot_occupancy_seconds,
        slots_changed_at=_epoch(now),
        denied_changed_at=_epoch(now),
        GSI1PK=ALL_LIMITS,
        GSI1SK=limit.name,
    )


def _guard(name: str, limit_id: UUID) -> TableItem:
    return TableItem(
        name_key(name), store.META, entity="concurrency_limit_name", body=json.dumps({"id": str(limit_id)})
    )


def from_item(item: TableItem) -> StoredLimit:
    assert item.body is not None
    static = json.loads(item.body)
    limit = ConcurrencyLimitV2.model_validate(
        {
            **static,
            "active_slots": int(item.active_slots or 0),
            "denied_slots": int(item.denied_slots or 0),
            "avg_slot_occupancy_seconds": float(
                item.avg_slot_occupancy_seconds if item.avg_slot_occupancy_seconds is not None else 2.0
            ),
        }
    )
    return StoredLimit(
        limit=limit,
        version=int(item.version or 0),
        raw_active_slots=int(item.active_slots or 0),
        slots_changed_at=float(item.slots_changed_at or 0),
        raw_denied_slots=int(item.denied_slots or 0),
        denied_changed_at=float(item.denied_changed_at or 0),
    )


# --- reads --------------------------------------------------------------------------


def read(limit_id: UUID) -> StoredLimit | None:
    item = store.get(limit_key(limit_id))
    return from_item(item) if item is not None and item.entity == ENTITY else None


def id_for_name(name: str) -> UUID | None:
    guard = store.get(name_key(name))
    return UUID(json.loads(guard.body)["id"]) if guard is not None and guard.body else None


def read_by_name(name: str) -> StoredLimit | None:
    limit_id = id_for_name(name)
    return read(limit_id) if limit_id is not None else None


def read_by_id_or_name(id_or_name: str) -> StoredLimit | None:
    try:
        return read(UUID(id_or_name))
    except ValueError:
        return read_by_name(id_or_name)


def read_or_404(id_or_name: str) -> StoredLimit:
    found = read_by_id_or_name(id_or_name)
    if found is None:
        raise ConcurrencyLimitNotFound("Concurrency Limit not found")
    return found


def read_many(limit_ids: list[UUID]) -> dict[UUID, StoredLimit]:
    items = store.batch_get((limit_key(i), store.META) for i in limit_ids)
    found = [from_item(item) for item in items if item.entity == ENTITY]
    return {s.limit.id: s for s in found}


def read_by_names(names: list[str]) -> list[StoredLimit]:
    """Existing limits among `names` (unknown names are skipped), in the order asked."""
    guards = store.batch_get((name_key(n), store.META) for n in names)
    id_by_key = {g.PK: UUID(json.loads(g.body)["id"]) for g in guards if g.body}
    by_id = read_many(list(id_by_key.values()))
    found: list[StoredLimit] = []
    for name in dict.fromkeys(names):
        limit_id = id_by_key.get(name_key(name))
        if limit_id is not None and limit_id in by_id:
            found.append(by_id[limit_id])
    return found


def list_limits(offset: int = 0, limit: int | None = None, name_prefix: str | None = None) -> list[StoredLimit]:
    """Name order through GSI1; a GSI lags, so each hit is re-read consistently."""
    stop = None if limit is None else offset + limit
    ids: list[UUID] = []
    for item in store.query(ALL_LIMITS, index="GSI1", sk_prefix=name_prefix):
        if item.body:
            ids.append(UUID(json.loads(item.body)["id"]))
        if stop is not None and len(ids) >= stop:
            break
    page = ids[offset:stop]
    by_id = read_many(page)
    return [by_id[i] for i in page if i in by_id]


# --- writes -------------------------------------------------------------------------


def create(create: ConcurrencyLimitV2Create | ConcurrencyLimitV2) -> StoredLimit:
    """Create with its name guard in one transaction; a taken name is ObjectAlreadyExists (409)."""
    now = now_utc()
    limit = ConcurrencyLimitV2.model_validate({**create.model_dump(), "id": uuid4(), "created": now, "updated": now})
    batch = store.WriteBatch().put_new(_item(limit, 1, now)).put_new(_guard(limit.name, limit.id))
    try:
        store.transact(batch, on_conflict=ObjectAlreadyExists)
    except ObjectAlreadyExists:
        raise ObjectAlreadyExists(f"A concurrency limit named {limit.name!r} already exists.") from None
    stored = read(limit.id)
    assert stored is not None
    return stored


def update(id_or_name: str, update: ConcurrencyLimitV2Update) -> StoredLimit:
    """PATCH: static fields under `version`; sent counters are SET in the same write."""
    sent = update.model_dump(exclude_unset=True)
    for _ in range(MAX_WRITE_ATTEMPTS):
        current = read_or_404(id_or_name)
        now = now_utc()
        static = {k: v for k, v in sent.items() if k not in {"active_slots", "denied_slots"}}
        changed = ConcurrencyLimitV2.model_validate({**current.limit.model_dump(), **static, "updated": now})
        item = TableItem(limit_key(changed.id), store.META)
        actions: list[Any] = [
            TableItem.body.set(_static_body(changed)),
            TableItem.version.set(current.version + 1),
            TableItem.GSI1SK.set(changed.name),
        ]
        if "active_slots" in sent and sent["active_slots"] is not None:
            actions += [TableItem.active_slots.set(sent["active_slots"]), TableItem.slots_changed_at.set(_epoch(now))]
        if "denied_slots" in sent and sent["denied_slots"] is not None:
            actions += [TableItem.denied_slots.set(sent["denied_slots"]), TableItem.denied_changed_at.set(_epoch(now))]
        batch = store.WriteBatch().update(item, actions, TableItem.version == current.version)
        if changed.name != current.limit.name:
            batch.delete(_guard(current.limit.name, changed.id)).put_new(_guard(changed.name, changed.id))
        try:
            store.transact(batch)
        except ConcurrentUpdate:
            if changed.name != current.limit.name and id_for_name(changed.name) not in (None, changed.id):
                raise ObjectAlreadyExists(f"A concurrency limit named {changed.name!r} already exists.") from None
            continue
        stored = read(changed.id)
        assert stored is not None
        return stored
    raise ConcurrentUpdate(id_or_name)


def delete(stored: StoredLimit, extra: store.WriteBatch | None = None) -> None:
    batch = extra or store.WriteBatch()
    batch.delete(TableItem(limit_key(stored.limit.id), store.META))
    batch.delete(_guard(stored.limit.name, stored.limit.id), TableItem.body == json.dumps({"id": str(stored.limit.id)}))
    store.transact(batch)


# --- slot counter actions (applied inside the callers' transactions) ----------------


def acquire_actions(stored: StoredLimit, slots: int, now: datetime.datetime) -> tuple[list[Any], Condition]:
    """UpdateItem actions + condition that take `slots` only if they fit under the limit.

    Without decay: ADD under `active_slots <= limit - slots` (and the version the limit
    was read at), so concurrent acquirers never conflict with each other, only with a full
    limit. With decay the decayed count depends on time, so the write sets the new count
    conditioned on the counter being unchanged since it was read (optimistic)."""
    item_cond = TableItem.version == stored.version
    if stored.limit.slot_decay_per_second <= 0:
        ceiling = stored.limit.limit - slots
        # A request larger than the limit can never fit: a condition no stored limit meets.
        fit = TableItem.active_slots <= ceiling if ceiling >= 0 else TableItem.PK.does_not_exist()
        cond = item_cond & fit
        return [TableItem.active_slots.add(slots), TableItem.slots_changed_at.set(_epoch(now))], cond
    decayed = stored.active_slots_at(now)
    cond = (
        item_cond
        & (TableItem.active_slots == stored.raw_active_slots)
        & (TableItem.slots_changed_at == stored.slots_changed_at)
    )
    return [TableItem.active_slots.set(decayed + slots), TableItem.slots_changed_at.set(_epoch(now))], cond


def fits(stored: StoredLimit, slots: int, now: datetime.datetime) -> bool:
    return stored.active_slots_at(now) + slots <= stored.limit.limit


def release_actions(
    stored: StoredLimit, slots: int, now: datetime.datetime, occupancy_seconds: float | None = None
) -> tuple[list[Any], Condition]:
    """Give `slots` back, never below zero (as the reference clamps), and fold the
    occupancy into the weighted average over `limit * 2` samples (ADD of the delta, so
    concurrent releases all count)."""
    actions: list[Any] = []
    exists = TableItem.PK.exists()
    if stored.limit.slot_decay_per_second <= 0 and stored.raw_active_slots >= slots:
        actions.append(TableItem.active_slots.add(-slots))
        cond = exists & (TableItem.active_slots >= slots)
    else:
        actions.append(TableItem.active_slots.set(max(0, stored.active_slots_at(now) - slots)))
        actions.append(TableItem.slots_changed_at.set(_epoch(now)))
        cond = exists & (TableItem.active_slots == stored.raw_active_slots)
    if occupancy_seconds and stored.limit.limit > 0 and slots > 0:
        per_slot = max(occupancy_seconds / slots, MINIMUM_OCCUPANCY_SECONDS_PER_SLOT)
        samples = stored.limit.limit * OCCUPANCY_SAMPLES_MULTIPLIER
        delta = (per_slot - stored.limit.avg_slot_occupancy_seconds) / samples
        actions.append(TableItem.avg_slot_occupancy_seconds.add(delta))
    return actions, cond


def key_item(limit_id: UUID) -> TableItem:
    return TableItem(limit_key(limit_id), store.META)


def record_denied(stored_limits: list[StoredLimit], slots: int, now: datetime.datetime, max_wait: float) -> None:
    """A refused acquire counts toward denied_slots (it drives the Retry-After estimate).

    A statistic: a lost concurrent update only makes the estimate a little lower."""
    for stored in stored_limits:
        denied = stored.denied_slots_at(now, max_wait) + slots
        try:
            store.update(
                key_item(stored.limit.id),
                [TableItem.denied_slots.set(denied), TableItem.denied_changed_at.set(_epoch(now))],
                TableItem.PK.exists(),
            )
        except ConcurrentUpdate:
            continue
