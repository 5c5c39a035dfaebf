"""Flows in the table.

Access patterns:
- read by id ............ PK=FLOW#<id>, SK=#META
- read by name .......... PK=FLOW_NAME#<name> (uniqueness guard holding the id) -> by id
- list / filter ......... GSI1PK=FLOWS, GSI1SK=<name>  (all flows, name order)
- names are unique: the guard item is written in the same transaction as the flow.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from uuid import UUID

from shared.schemas.base import now_utc
from shared.schemas.flows import Flow, FlowCreate, FlowUpdate
from shared.storage import store
from shared.storage.errors import ObjectAlreadyExists, ObjectNotFound
from shared.storage.keys import decode, key
from shared.storage.table import TableItem

ENTITY = "flow"


def _flow_key(flow_id: UUID | str) -> str:
    return key("FLOW", flow_id)


def _name_key(name: str) -> str:
    return key("FLOW_NAME", name)


def _to_item(flow: Flow) -> TableItem:
    return TableItem(
        _flow_key(flow.id),
        store.META,
        entity=ENTITY,
        body=flow.model_dump_json(),
        GSI1PK="FLOWS",
        GSI1SK=f"{flow.name}#{flow.id}",
    )


def _guard(flow: Flow) -> TableItem:
    return TableItem(_name_key(flow.name), store.META, entity="flow_name", body=json.dumps({"id": str(flow.id)}))


def read(flow_id: UUID) -> Flow | None:
    item = store.get(_flow_key(flow_id))
    return decode(item, Flow) if item else None


def read_or_404(flow_id: UUID) -> Flow:
    flow = read(flow_id)
    if flow is None:
        raise ObjectNotFound("Flow not found")
    return flow


def read_by_name(name: str) -> Flow | None:
    guard = store.get(_name_key(name))
    if guard is None or not guard.body:
        return None
    return read(UUID(json.loads(guard.body)["id"]))


def read_many(flow_ids: Iterable[UUID]) -> dict[UUID, Flow]:
    items = store.batch_get((_flow_key(fid), store.META) for fid in flow_ids)
    flows = (decode(item, Flow) for item in items)
    return {flow.id: flow for flow in flows}


def upsert(create: FlowCreate) -> tuple[Flow, bool]:
    """Return (flow, created). An existing name returns the existing flow untouched."""
    existing = read_by_name(create.name)
    if existing is not None:
        return existing, False
    stamp = now_utc()
    flow = Flow(**create.model_dump(), created=stamp, updated=stamp)
    try:
        store.transact(
            store.WriteBatch().put_new(_guard(flow)).put_new(_to_item(flow)), on_conflict=ObjectAlreadyExists
        )
    except ObjectAlreadyExists:
        # Another writer created the same name first: theirs wins, as with a unique index.
        winner = read_by_name(create.name)
        if winner is None:
            raise
        return winner, False
    return flow, True


def update(flow_id: UUID, changes: FlowUpdate) -> Flow:
    flow = read_or_404(flow_id)
    updated = flow.model_copy(update={**changes.model_dump(exclude_unset=True), "updated": now_utc()})
    store.put(_to_item(updated), condition=TableItem.body == flow.model_dump_json())
    return updated


def delete(flow_id: UUID) -> Flow:
    flow = read_or_404(flow_id)
    store.transact(
        store.WriteBatch().delete(_to_item(flow)).delete(_guard(flow)),
    )
    return flow


def list_all() -> list[Flow]:
    return [decode(item, Flow) for item in store.query("FLOWS", index="GSI1")]


def candidates(ids: list[UUID] | None = None, names: list[str] | None = None) -> list[Flow]:
    """Narrowest read for a filter: by ids, by names, else the whole flow list."""
    if ids is not None:
        return list(read_many(ids).values())
    if names is not None:
        found = (read_by_name(name) for name in dict.fromkeys(names))
        return [flow for flow in found if flow is not None]
    return list_all()


def touch(flow: Flow, when: datetime.datetime | None = None) -> Flow:
    return flow.model_copy(update={"updated": when or now_utc()})
