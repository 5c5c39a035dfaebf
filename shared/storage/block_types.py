"""Block types in the table.

Access patterns:
- read by id ............ PK=BLOCK_TYPE#<id>, SK=#META
- read by slug .......... guard PK=BLOCK_TYPE_SLUG#<slug> (body holds the id) -> by id
- unique name ........... guard PK=BLOCK_TYPE_NAME#<name>; both guards are written in the
                          same transaction as the type, so concurrent creates of one slug or
                          name leave exactly one type (the others get 409)
- list / filter ......... GSI1PK=BLOCK_TYPES, GSI1SK=<name>#<id> (name order, as the reference)
A type's name and slug never change (BlockTypeUpdate has neither), so the guards never move.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from uuid import UUID

from shared.blocks.events import block_type_event
from shared.schemas.base import now_utc
from shared.schemas.blocks import BlockType, BlockTypeCreate, BlockTypeUpdate
from shared.schemas.filters.misc import BlockTypeFilter
from shared.storage import events as event_store
from shared.storage import store
from shared.storage.errors import ConcurrentUpdate, ObjectAlreadyExists, ObjectNotFound
from shared.storage.keys import decode, key
from shared.storage.table import TableItem

ENTITY = "block_type"
NOT_FOUND = "Block type not found"
WRITE_ATTEMPTS = 6


def _type_key(block_type_id: UUID | str) -> str:
    return key("BLOCK_TYPE", block_type_id)


def _slug_key(slug: str) -> str:
    return key("BLOCK_TYPE_SLUG", slug)


def _name_key(name: str) -> str:
    return key("BLOCK_TYPE_NAME", name)


def to_item(block_type: BlockType, version: int = 1) -> TableItem:
    return TableItem(
        _type_key(block_type.id),
        store.META,
        entity=ENTITY,
        body=block_type.model_dump_json(),
        version=version,
        GSI1PK="BLOCK_TYPES",
        GSI1SK=f"{block_type.name}#{block_type.id}",
    )


def guards(block_type: BlockType) -> list[TableItem]:
    body = json.dumps({"id": str(block_type.id)})
    return [
        TableItem(_slug_key(block_type.slug), store.META, entity="block_type_slug", body=body),
        TableItem(_name_key(block_type.name), store.META, entity="block_type_name", body=body),
    ]


def _guarded_id(item: TableItem | None) -> UUID | None:
    return UUID(json.loads(item.body)["id"]) if item is not None and item.body else None


# --- reads -------------------------------------------------------------------------


def read(block_type_id: UUID) -> BlockType | None:
    item = store.get(_type_key(block_type_id))
    return decode(item, BlockType) if item else None


def read_or_404(block_type_id: UUID) -> BlockType:
    block_type = read(block_type_id)
    if block_type is None:
        raise ObjectNotFound(NOT_FOUND)
    return block_type


def id_by_slug(slug: str) -> UUID | None:
    return _guarded_id(store.get(_slug_key(slug)))


def ids_by_slugs(slugs: Iterable[str]) -> dict[str, UUID]:
    found: dict[str, UUID] = {}
    for item in store.batch_get((_slug_key(slug), store.META) for slug in slugs):
        block_type_id = _guarded_id(item)
        if block_type_id is not None:
            found[item.PK.removeprefix("BLOCK_TYPE_SLUG#")] = block_type_id
    return found


def read_by_slug(slug: str) -> BlockType | None:
    block_type_id = id_by_slug(slug)
    return read(block_type_id) if block_type_id else None


def read_by_slug_or_404(slug: str) -> BlockType:
    block_type = read_by_slug(slug)
    if block_type is None:
        raise ObjectNotFound(NOT_FOUND)
    return block_type


def read_many(block_type_ids: Iterable[UUID]) -> dict[UUID, BlockType]:
    items = store.batch_get((_type_key(i), store.META) for i in block_type_ids)
    types = (decode(item, BlockType) for item in items)
    return {block_type.id: block_type for block_type in types}


def list_all() -> list[BlockType]:
    """Every type in name order (one GSI1 partition; there are tens, not thousands)."""
    return [decode(item, BlockType) for item in store.query("BLOCK_TYPES", index="GSI1")]


def filter_types(block_types: BlockTypeFilter | None, schema_type_ids: set[UUID] | None) -> list[BlockType]:
    """Types matching the filter; `schema_type_ids` narrows to types owning a matching schema."""
    if block_types is not None and block_types.slug is not None and block_types.slug.any_ is not None:
        candidates = sorted(read_many(ids_by_slugs(block_types.slug.any_).values()).values(), key=lambda t: t.name)
    else:
        candidates = list_all()
    return [
        block_type
        for block_type in candidates
        if (block_types is None or block_types.matches(block_type))
        and (schema_type_ids is None or block_type.id in schema_type_ids)
    ]


# --- writes ------------------------------------------------------------------------


def _escaped(text: str | None) -> str | None:
    # The reference stores descriptions and code examples HTML-escaped (the UI renders them).
    return html.escape(text, quote=False) if text is not None else None


def create(body: BlockTypeCreate, *, is_protected: bool = False) -> BlockType:
    stamp = now_utc()
    values = body.model_dump()
    values.update(description=_escaped(body.description), code_example=_escaped(body.code_example))
    block_type = BlockType(**values, is_protected=is_protected, created=stamp, updated=stamp)
    batch = (
        store.WriteBatch()
        .put_new(to_item(block_type))
        .put_new(event_store.to_item(block_type_event("created", block_type)))
    )
    for guard in guards(block_type):
        batch.put_new(guard)
    try:
        store.transact(batch, on_conflict=ObjectAlreadyExists)
    except ObjectAlreadyExists as exc:
        raise ObjectAlreadyExists(f'Block type with name "{block_type.name}" already exists') from exc
    return block_type


def update(block_type_id: UUID, changes: BlockTypeUpdate) -> BlockType:
    """Apply the fields set in `changes` (a no-op when nothing differs, like the reference)."""
    values = changes.model_dump(exclude_unset=True)
    for _ in range(WRITE_ATTEMPTS):
        item = store.get(_type_key(block_type_id))
        if item is None:
            raise ObjectNotFound(NOT_FOUND)
        current = decode(item, BlockType)
        if all(getattr(current, name) == value for name, value in values.items()):
            return current
        updated = current.model_copy(update={**values, "updated": now_utc()})
        BlockType.model_validate_json(updated.model_dump_json())  # what is stored must read back
        version = int(item.version or 0)
        condition = TableItem.version == version if item.version is not None else TableItem.version.does_not_exist()
        batch = (
            store.WriteBatch()
            .put(to_item(updated, version + 1), condition)
            .put_new(event_store.to_item(block_type_event("updated", updated)))
        )
        try:
            store.transact(batch)
            return updated
        except ConcurrentUpdate:
            continue
    raise ConcurrentUpdate(str(block_type_id))


def delete(block_type: BlockType) -> None:
    """Delete the type and its guards (its schemas and documents are removed by the caller)."""
    batch = store.WriteBatch().delete(to_item(block_type), TableItem.PK.exists())
    batch.put_new(event_store.to_item(block_type_event("deleted", block_type)))
    for guard in guards(block_type):
        batch.delete(guard)
    try:
        store.transact(batch)
    except ConcurrentUpdate as exc:
        raise ObjectNotFound(NOT_FOUND) from exc


def replace_registered(block_type: BlockType) -> None:
    """Bring an existing type (found by slug) to `block_type`'s fields, keeping its id, name and created."""
    for _ in range(WRITE_ATTEMPTS):
        block_type_id = id_by_slug(block_type.slug)
        item = store.get(_type_key(block_type_id)) if block_type_id else None
        if item is None:
            return
        current = decode(item, BlockType)
        updated = block_type.model_copy(update={"id": current.id, "name": current.name, "created": current.created})
        if updated.model_dump(exclude={"updated"}) == current.model_dump(exclude={"updated"}):
            return
        version = int(item.version or 0)
        condition = TableItem.version == version if item.version is not None else TableItem.version.does_not_exist()
        try:
            store.put(to_item(updated, version + 1), condition)
            return
        except ConcurrentUpdate:
            continue
    raise ConcurrentUpdate(block_type.slug)
