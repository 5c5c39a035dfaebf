"""Saved searches in the table.

Item: PK=SAVED_SEARCH#<id>, SK=#META, body = SavedSearch JSON, `version` for conditional writes.
Name guard: PK=SAVED_SEARCH_NAME#<name>, SK=#META, body {"id"}, written in the same
transaction as a new saved search (names are unique; PUT upserts by name).

Access patterns:
- read by id ........ PK=SAVED_SEARCH#<id> (GetItem)
- upsert by name .... guard PK=SAVED_SEARCH_NAME#<name> -> item
- list (name order) . GSI1PK=SAVED_SEARCHES, GSI1SK=<name>#<id>, read up to offset+limit
"""

from __future__ import annotations

import itertools
import json
import sys
from uuid import UUID

from shared.schemas.base import now_utc
from shared.schemas.saved_searches import SavedSearch, SavedSearchCreate
from shared.storage import store
from shared.storage.errors import ConcurrentUpdate, ObjectAlreadyExists, ObjectNotFound
from shared.storage.keys import decode, key
from shared.storage.table import TableItem

ENTITY = "saved_search"
NOT_FOUND = "Saved search not found"
WRITE_ATTEMPTS = 6


def _item_key(search_id: UUID | str) -> str:
    return key("SAVED_SEARCH", search_id)


def _name_key(name: str) -> str:
    return key("SAVED_SEARCH_NAME", name)


def _to_item(search: SavedSearch, version: int) -> TableItem:
    return TableItem(
        _item_key(search.id),
        store.META,
        entity=ENTITY,
        body=search.model_dump_json(),
        version=version,
        GSI1PK="SAVED_SEARCHES",
        GSI1SK=f"{search.name}#{search.id}",
    )


def read(search_id: UUID) -> SavedSearch | None:
    item = store.get(_item_key(search_id))
    return decode(item, SavedSearch) if item else None


def read_page(offset: int, limit: int) -> list[SavedSearch]:
    offset = min(offset, sys.maxsize - limit)  # islice refuses bounds past sys.maxsize
    items = store.query("SAVED_SEARCHES", index="GSI1", page_size=min(offset + limit, 1000) or 1)
    return [decode(item, SavedSearch) for item in itertools.islice(items, offset, offset + limit)]


def upsert(body: SavedSearchCreate) -> tuple[SavedSearch, bool]:
    """(saved search, created). An existing name keeps its id and gets the new filters."""
    for _ in range(WRITE_ATTEMPTS):
        guard = store.get(_name_key(body.name))
        if guard is None or not guard.body:
            stamp = now_utc()
            search = SavedSearch(**body.model_dump(), created=stamp, updated=stamp)
            guard_item = TableItem(
                _name_key(search.name), store.META, entity="saved_search_name", body=json.dumps({"id": str(search.id)})
            )
            try:
                store.transact(
                    store.WriteBatch().put_new(guard_item).put_new(_to_item(search, 1)), on_conflict=ObjectAlreadyExists
                )
                return search, True
            except ObjectAlreadyExists:
                continue  # another PUT of this name won: update theirs
        item = store.get(_item_key(json.loads(guard.body)["id"]))
        if item is None:
            continue  # deleted meanwhile: look again
        current = decode(item, SavedSearch)
        # The reference's upsert replaces only `filters` (its `updated` stays as it was).
        updated = current.model_copy(update={"filters": body.filters})
        version = int(item.version or 0)
        try:
            store.put(_to_item(updated, version + 1), TableItem.version == version)
            return updated, False
        except ConcurrentUpdate:
            continue
    raise ConcurrentUpdate(body.name)


def delete(search_id: UUID) -> None:
    search = read(search_id)
    if search is None:
        raise ObjectNotFound(NOT_FOUND)
    guard = TableItem(_name_key(search.name), store.META)
    try:
        store.transact(
            store.WriteBatch()
            .delete(_to_item(search, 0), TableItem.PK.exists())
            .delete(guard, TableItem.body == json.dumps({"id": str(search.id)}))
        )
    except ConcurrentUpdate:
        raise ObjectNotFound(NOT_FOUND) from None
