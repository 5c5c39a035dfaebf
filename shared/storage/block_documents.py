"""Block documents in the table, with references between them and masked secrets.

Item PK=BLOCK_DOCUMENT#<id>, SK=#META; body = StoredBlockDocument: the data WITHOUT nested
references plus `references` {field: referenced document id}. Reads put each referenced
document's (recursively resolved) data back under its field, as the reference server does.

Access patterns:
- read by id ............ PK=BLOCK_DOCUMENT#<id> (GetItem; referenced documents, their schemas and
                          types by BatchGetItem, one round per level of nesting)
- by type slug + name ... guard PK=BLOCK_TYPE_SLUG#<slug> -> type id; guard
                          PK=BLOCK_DOCUMENT_NAME#<block_type_id>#<name> (body holds the id) -> by id
- unique name per type .. that guard, written in the same transaction as the document: of
                          concurrent creates of one name exactly one succeeds, the others get 409
- named / anonymous ..... GSI1PK=BLOCK_DOCUMENTS#NAMED | BLOCK_DOCUMENTS#ANONYMOUS, GSI1SK=<name>#<id>
                          (name order: the default NAME_ASC sort streams from the index)
- of a block type ....... GSI2PK=BLOCK_DOCUMENTS#TYPE#<block_type_id>#NAMED | #ANONYMOUS, GSI2SK=<name>#<id>
With the default NAME_ASC sort and one name-ordered partition to read, a filter stops reading
once offset+limit documents matched.
A reference to a deleted document is dropped on read, and a document whose schema or type was
deleted is not returned: the reference cascades those deletes through its foreign keys.

Secrets: data is stored as given (the table is encrypted at rest, see docs/blocks.md) and the
schema's `secret_fields` are masked on every read unless include_secrets is asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any
from uuid import UUID, uuid4

from pydantic import Field

from shared.blocks.events import block_document_event
from shared.blocks.references import InvalidReference, split_references
from shared.blocks.secrets import keep_unchanged_secrets, mask
from shared.schemas.base import APIBaseModel, now_utc
from shared.schemas.blocks import BlockDocument, BlockDocumentCreate, BlockDocumentUpdate, BlockSchema, BlockType
from shared.schemas.filters.misc import BlockDocumentFilter, BlockSchemaFilter, BlockTypeFilter
from shared.schemas.sorting import BlockDocumentSort, apply_sort
from shared.schemas.types import DateTime
from shared.storage import block_schemas as schema_store
from shared.storage import block_types as type_store
from shared.storage import events as event_store
from shared.storage import store
from shared.storage.errors import ConcurrentUpdate, InvalidObject, ObjectAlreadyExists, ObjectNotFound
from shared.storage.flow_run_states import checked_body
from shared.storage.keys import decode, key
from shared.storage.table import TableItem

ENTITY = "block_document"
NOT_FOUND = "Block document not found"
WRITE_ATTEMPTS = 6
# The reference refuses to follow reference chains deeper than this.
MAX_REFERENCE_DEPTH = 50


class StoredBlockDocument(APIBaseModel):
    """What one document item holds (validated on write with the model it is read with)."""

    id: UUID
    created: DateTime | None = None
    updated: DateTime | None = None
    name: str
    data: dict[str, Any] = Field(default_factory=dict)
    references: dict[str, UUID] = Field(default_factory=dict)
    block_schema_id: UUID
    block_type_id: UUID
    block_type_name: str | None = None
    is_anonymous: bool = False


def _doc_key(document_id: UUID | str) -> str:
    return key("BLOCK_DOCUMENT", document_id)


def _name_key(block_type_id: UUID, name: str) -> str:
    return f"BLOCK_DOCUMENT_NAME#{block_type_id}#{name}"


_NAMED, _ANONYMOUS = "NAMED", "ANONYMOUS"


def _kind(is_anonymous: bool) -> str:
    return _ANONYMOUS if is_anonymous else _NAMED


def _type_partition(block_type_id: UUID, kind: str) -> str:
    return f"BLOCK_DOCUMENTS#TYPE#{block_type_id}#{kind}"


def _to_item(doc: StoredBlockDocument, version: int) -> TableItem:
    order = f"{doc.name}#{doc.id}"
    body = checked_body(doc.model_dump_json(), "block document")
    StoredBlockDocument.model_validate_json(body)
    return TableItem(
        _doc_key(doc.id),
        store.META,
        entity=ENTITY,
        body=body,
        version=version,
        GSI1PK=f"BLOCK_DOCUMENTS#{_kind(doc.is_anonymous)}",
        GSI1SK=order,
        GSI2PK=_type_partition(doc.block_type_id, _kind(doc.is_anonymous)),
        GSI2SK=order,
    )


def _event_item(action: str, doc: StoredBlockDocument, schema: BlockSchema | None) -> TableItem | None:
    """The lifecycle event of a change to `doc`, as an item for the change's own transaction."""
    secret_fields = schema.fields.get("secret_fields", []) if schema is not None else []
    document = BlockDocument(
        id=doc.id,
        name=doc.name,
        data=mask(doc.data, secret_fields),
        block_schema_id=doc.block_schema_id,
        block_schema=schema,
        block_type_id=doc.block_type_id,
        block_type_name=doc.block_type_name,
        is_anonymous=doc.is_anonymous,
    )
    event = block_document_event(action, document)
    return event_store.to_item(event) if event is not None else None


def _with_event(batch: store.WriteBatch, event: TableItem | None) -> store.WriteBatch:
    return batch.put_new(event) if event is not None else batch


def _guard(doc: StoredBlockDocument) -> TableItem:
    return TableItem(
        _name_key(doc.block_type_id, doc.name),
        store.META,
        entity="block_document_name",
        body=json.dumps({"id": str(doc.id)}),
    )


# --- resolving documents for responses ----------------------------------------------------


class _Resolver:
    """Loads stored documents, their referenced documents, schemas and types in batches."""

    def __init__(self, include_secrets: bool) -> None:
        self.include_secrets = include_secrets
        self.docs: dict[UUID, StoredBlockDocument] = {}
        self.schemas: dict[UUID, BlockSchema] = {}
        self.types: dict[UUID, BlockType] = {}

    def load(self, roots: Iterable[StoredBlockDocument]) -> None:
        wave = list(roots)
        for _ in range(MAX_REFERENCE_DEPTH + 1):
            for doc in wave:
                self.docs[doc.id] = doc
            missing = {ref for doc in wave for ref in doc.references.values() if ref not in self.docs}
            wave = [
                decode(item, StoredBlockDocument)
                for item in store.batch_get((_doc_key(i), store.META) for i in missing)
            ]
            if not wave:
                break
        schema_ids = {doc.block_schema_id for doc in self.docs.values()} - set(self.schemas)
        self.schemas.update(schema_store.read_many(schema_ids))
        # A document's type is its schema's type, which read_many already fetched.
        self.types.update({s.block_type.id: s.block_type for s in self.schemas.values() if s.block_type is not None})
        type_ids = {doc.block_type_id for doc in self.docs.values()} - set(self.types)
        self.types.update(type_store.read_many(type_ids))

    def readable(self, doc: StoredBlockDocument) -> bool:
        return doc.block_schema_id in self.schemas and doc.block_type_id in self.types

    def _own_data(self, doc: StoredBlockDocument) -> dict[str, Any]:
        if self.include_secrets:
            return dict(doc.data)
        return mask(doc.data, self.schemas[doc.block_schema_id].fields.get("secret_fields", []))

    def build(self, doc: StoredBlockDocument, depth: int = 0) -> BlockDocument:
        if depth > MAX_REFERENCE_DEPTH:
            raise InvalidObject(
                f"Block document reference graph exceeds max depth {MAX_REFERENCE_DEPTH}; refusing to recurse further."
            )
        data = self._own_data(doc)
        references: dict[str, dict[str, Any]] = {}
        for field, child_id in doc.references.items():
            child = self.docs.get(child_id)
            if child is None or not self.readable(child):
                continue  # the referenced document was deleted: the reference went with it
            nested = self.build(child, depth + 1)
            data[field] = nested.data
            references[field] = {
                "block_document": {
                    "id": str(nested.id),
                    "name": nested.name,
                    "block_type": nested.block_type.model_dump(mode="json") if nested.block_type else None,
                    "is_anonymous": nested.is_anonymous,
                    "block_document_references": nested.block_document_references,
                }
            }
        return BlockDocument(
            id=doc.id,
            created=doc.created,
            updated=doc.updated,
            name=doc.name,
            data=data,
            block_schema_id=doc.block_schema_id,
            block_schema=self.schemas[doc.block_schema_id],
            block_type_id=doc.block_type_id,
            block_type_name=doc.block_type_name,
            block_type=self.types[doc.block_type_id],
            block_document_references=references,
            is_anonymous=doc.is_anonymous,
        )


def _resolve(docs: list[StoredBlockDocument], include_secrets: bool) -> list[BlockDocument]:
    resolver = _Resolver(include_secrets)
    resolver.load(docs)
    return [resolver.build(doc) for doc in docs if resolver.readable(doc)]


# --- reads -------------------------------------------------------------------------


def _read_stored(document_id: UUID) -> tuple[StoredBlockDocument, TableItem] | None:
    item = store.get(_doc_key(document_id))
    return (decode(item, StoredBlockDocument), item) if item else None


def read(document_id: UUID, include_secrets: bool = False) -> BlockDocument | None:
    found = _read_stored(document_id)
    resolved = _resolve([found[0]], include_secrets) if found else []
    return resolved[0] if resolved else None


def read_or_404(document_id: UUID, include_secrets: bool = False) -> BlockDocument:
    document = read(document_id, include_secrets)
    if document is None:
        raise ObjectNotFound(NOT_FOUND)
    return document


def _id_by_name(block_type_id: UUID, name: str) -> UUID | None:
    item = store.get(_name_key(block_type_id, name))
    return UUID(json.loads(item.body)["id"]) if item and item.body else None


def read_by_name(block_type_slug: str, name: str, include_secrets: bool = False) -> BlockDocument | None:
    block_type_id = type_store.id_by_slug(block_type_slug)
    document_id = _id_by_name(block_type_id, name) if block_type_id else None
    return read(document_id, include_secrets) if document_id else None


def _kinds(documents: BlockDocumentFilter) -> list[str]:
    """The named / anonymous partitions a filter can match (the default filter: named only)."""
    wanted = documents.is_anonymous.eq_ if documents.is_anonymous is not None and documents.operator == "and_" else None
    return [_kind(wanted)] if wanted is not None else [_NAMED, _ANONYMOUS]


def _candidates(
    documents: BlockDocumentFilter, type_ids: list[UUID] | None, page_size: int | None = None
) -> tuple[Iterator[StoredBlockDocument], bool]:
    """Stored documents from the narrowest key or index the filters allow, and whether they come
    in name order (one partition read in key order)."""
    hints = documents.index_hints()
    if "id" in hints:
        items = store.batch_get((_doc_key(i), store.META) for i in hints["id"])
        return iter(sorted((decode(i, StoredBlockDocument) for i in items), key=lambda d: (d.name, str(d.id)))), True
    if "block_type_id" in hints:
        type_ids = hints["block_type_id"] if type_ids is None else [t for t in type_ids if t in hints["block_type_id"]]
    if type_ids is not None:
        partitions = [_type_partition(t, kind) for t in type_ids for kind in _kinds(documents)]
        index = "GSI2"
    else:
        partitions = [f"BLOCK_DOCUMENTS#{kind}" for kind in _kinds(documents)]
        index = "GSI1"
    docs = (
        decode(i, StoredBlockDocument)
        for partition in partitions
        for i in store.query(partition, index=index, page_size=page_size)
    )
    return docs, len(partitions) == 1


def _matching(
    documents: BlockDocumentFilter | None,
    block_types: BlockTypeFilter | None,
    block_schemas: BlockSchemaFilter | None,
    enough: int | None = None,
) -> list[StoredBlockDocument]:
    """Matching documents; with `enough`, reading may stop after that many in name order."""
    documents = documents if documents is not None else BlockDocumentFilter()
    type_ids = [t.id for t in type_store.filter_types(block_types, None)] if block_types is not None else None
    schema_ids = {s.id for s in schema_store.filter_schemas(block_schemas)} if block_schemas is not None else None
    # Pages as large as the page asked for (DynamoDB's 1 MB page bound still applies).
    candidates, name_ordered = _candidates(documents, type_ids, min(enough, 1000) if enough else None)
    matched: list[StoredBlockDocument] = []
    for doc in candidates:
        if documents.matches(doc) and (schema_ids is None or doc.block_schema_id in schema_ids):
            matched.append(doc)
            if enough is not None and name_ordered and len(matched) >= enough:
                break
    return matched


def filter_documents(
    documents: BlockDocumentFilter | None,
    block_types: BlockTypeFilter | None,
    block_schemas: BlockSchemaFilter | None,
    *,
    include_secrets: bool = False,
    sort: BlockDocumentSort = BlockDocumentSort.NAME_ASC,
    offset: int = 0,
    limit: int | None = None,
) -> list[BlockDocument]:
    # Name-ordered candidates already are in NAME_ASC order: stop at the page's end.
    enough = offset + limit if sort == BlockDocumentSort.NAME_ASC and limit is not None else None
    ordered = apply_sort(_matching(documents, block_types, block_schemas, enough), sort)
    page = ordered[offset : None if limit is None else offset + limit]
    return _resolve(page, include_secrets)


def count_documents(
    documents: BlockDocumentFilter | None, block_types: BlockTypeFilter | None, block_schemas: BlockSchemaFilter | None
) -> int:
    return len(_matching(documents, block_types, block_schemas))


# --- writes ------------------------------------------------------------------------


def _check_references(parent_id: UUID, references: dict[str, UUID]) -> None:
    """Every referenced document exists and no reference closes a cycle back to the parent."""
    for field, target in references.items():
        seen: set[UUID] = set()
        stack = [target]
        while stack:
            current = stack.pop()
            if current == parent_id:
                raise InvalidObject(
                    "Cannot create block document reference: it would introduce a cycle into the "
                    f"block_document_reference graph (parent={parent_id}, reference={target})."
                )
            if current in seen:
                continue
            seen.add(current)
            found = _read_stored(current)
            if found is None:
                if current == target:
                    raise InvalidObject(f"Block document {target} referenced by {field!r} not found.")
                continue
            stack.extend(found[0].references.values())


def _split(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, UUID]]:
    try:
        return split_references(data)
    except InvalidReference as exc:
        raise InvalidObject(str(exc)) from exc


def create(body: BlockDocumentCreate) -> BlockDocument:
    block_type = type_store.read(body.block_type_id)
    if block_type is None:
        raise ObjectNotFound(f"Block type {body.block_type_id} not found.")
    schema = schema_store.read(body.block_schema_id)
    if schema is None:
        raise ObjectNotFound(f"Block schema {body.block_schema_id} not found.")
    document_id = uuid4()
    data, references = _split(body.data)
    _check_references(document_id, references)
    stamp = now_utc()
    doc = StoredBlockDocument(
        id=document_id,
        created=stamp,
        updated=stamp,
        # Anonymous documents without a name get a unique generated one, as in the reference.
        name=body.name if body.name else f"anonymous-{uuid4()}",
        data=data,
        references=references,
        block_schema_id=body.block_schema_id,
        block_type_id=body.block_type_id,
        block_type_name=block_type.name,
        is_anonymous=body.is_anonymous,
    )
    try:
        batch = store.WriteBatch().put_new(_to_item(doc, 1)).put_new(_guard(doc))
        store.transact(_with_event(batch, _event_item("created", doc, schema)), on_conflict=ObjectAlreadyExists)
    except ObjectAlreadyExists as exc:
        raise ObjectAlreadyExists("Block already exists") from exc
    return read_or_404(document_id)


def _updated(current: StoredBlockDocument, changes: BlockDocumentUpdate) -> StoredBlockDocument:
    """The document after `changes`, following the reference's merge and secret rules."""
    merge = changes.merge_existing_data
    if merge and "data" not in changes.model_fields_set:
        return current  # without data the reference changes nothing (not even the schema)
    schema = schema_store.read(current.block_schema_id)
    secret_fields = schema.fields.get("secret_fields", []) if schema else []
    incoming = keep_unchanged_secrets(changes.data, current.data, secret_fields)
    merged = {**current.data, **incoming} if merge else incoming
    data, references = _split(merged)
    new_references = {f: t for f, t in references.items() if current.references.get(f) != t}
    _check_references(current.id, new_references)
    schema_id = current.block_schema_id
    if changes.block_schema_id is not None and changes.block_schema_id != current.block_schema_id:
        proposed = schema_store.read(changes.block_schema_id)
        if proposed is None:
            raise ObjectNotFound(f"Block schema {changes.block_schema_id} not found.")
        if proposed.block_type_id != current.block_type_id:
            raise InvalidObject("Must migrate block document to a block schema of the same block type.")
        schema_id = proposed.id
    return current.model_copy(
        update={"data": data, "references": references, "block_schema_id": schema_id, "updated": now_utc()}
    )


def update(document_id: UUID, changes: BlockDocumentUpdate) -> None:
    for _ in range(WRITE_ATTEMPTS):
        found = _read_stored(document_id)
        if found is None:
            raise ObjectNotFound(NOT_FOUND)
        current, item = found
        updated = _updated(current, changes)
        if updated is current:
            return
        version = int(item.version or 0)
        condition = TableItem.version == version if item.version is not None else TableItem.version.does_not_exist()
        event = _event_item("updated", updated, schema_store.read(updated.block_schema_id))
        try:
            store.transact(_with_event(store.WriteBatch().put(_to_item(updated, version + 1), condition), event))
            return
        except ConcurrentUpdate:
            continue
    raise ConcurrentUpdate(str(document_id))


def delete(document_id: UUID) -> None:
    found = _read_stored(document_id)
    if found is None:
        raise ObjectNotFound(NOT_FOUND)
    doc = found[0]
    try:
        batch = store.WriteBatch().delete(_to_item(doc, 0), TableItem.PK.exists()).delete(_guard(doc))
        store.transact(_with_event(batch, _event_item("deleted", doc, schema_store.read(doc.block_schema_id))))
    except ConcurrentUpdate as exc:
        raise ObjectNotFound(NOT_FOUND) from exc


def delete_of_type(block_type_id: UUID) -> int:
    """Remove every document of a deleted type (the reference cascades the type's delete)."""
    docs = [
        decode(i, StoredBlockDocument)
        for kind in (_NAMED, _ANONYMOUS)
        for i in store.query(_type_partition(block_type_id, kind), index="GSI2")
    ]
    for doc in docs:
        store.transact(store.WriteBatch().delete(_to_item(doc, 0)).delete(_guard(doc)))
    return len(docs)
