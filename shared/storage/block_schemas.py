"""Block schemas in the table. A schema is immutable once written: its identity is its checksum.

Access patterns:
- read by id ............ PK=BLOCK_SCHEMA#<id>, SK=#META (body = BlockSchema without block_type)
- by checksum/version ... PK=BLOCK_SCHEMA_CHECKSUM#<checksum>, SK=VERSION#<version> (body holds
                          the id, state_timestamp = created). One Query of the partition serves
                          "newest schema of this checksum" when no version is given. Written in
                          the same transaction as the schema: concurrent creates of one
                          (checksum, version) leave one schema, and the losers return it (200).
- list (newest first) ... GSI1PK=BLOCK_SCHEMAS, GSI1SK=<created>#<id>
- of a block type ....... GSI2PK=BLOCK_SCHEMAS#TYPE#<block_type_id>, GSI2SK=<created>#<id>
- capabilities .......... distinct capabilities of the GSI1 listing (tens of schemas)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from shared.blocks.checksum import schema_checksum
from shared.schemas.base import now_utc
from shared.schemas.blocks import BlockSchema, BlockSchemaCreate, BlockType
from shared.schemas.filters.misc import BlockSchemaFilter
from shared.storage import block_types as type_store
from shared.storage import store
from shared.storage.errors import ConcurrentUpdate, InvalidObject, ObjectAlreadyExists, ObjectNotFound, ObjectProtected
from shared.storage.flow_run_states import checked_body
from shared.storage.keys import decode, key, sortable_time
from shared.storage.table import TableItem

ENTITY = "block_schema"
NOT_FOUND = "Block schema not found"


def _schema_key(block_schema_id: UUID | str) -> str:
    return key("BLOCK_SCHEMA", block_schema_id)


def _checksum_key(checksum: str) -> str:
    return key("BLOCK_SCHEMA_CHECKSUM", checksum)


def _version_sk(version: str) -> str:
    return f"VERSION#{version}"


def to_items(schema: BlockSchema) -> list[TableItem]:
    """The schema item and its (checksum, version) identity item."""
    order = f"{sortable_time(schema.created)}#{schema.id}"
    stored = schema.model_copy(update={"block_type": None})
    item = TableItem(
        _schema_key(schema.id),
        store.META,
        entity=ENTITY,
        body=checked_body(stored.model_dump_json(), "block schema"),
        GSI1PK="BLOCK_SCHEMAS",
        GSI1SK=order,
        GSI2PK=key("BLOCK_SCHEMAS#TYPE", schema.block_type_id or "NONE"),
        GSI2SK=order,
    )
    identity = TableItem(
        _checksum_key(schema.checksum),
        _version_sk(schema.version),
        entity="block_schema_checksum",
        body=json.dumps({"id": str(schema.id)}),
        state_timestamp=order,
    )
    return [item, identity]


# --- reads -------------------------------------------------------------------------


def _with_types(schemas: list[BlockSchema]) -> list[BlockSchema]:
    types = type_store.read_many({s.block_type_id for s in schemas if s.block_type_id is not None})
    return [s.model_copy(update={"block_type": types.get(s.block_type_id)}) if s.block_type_id else s for s in schemas]


def read(block_schema_id: UUID) -> BlockSchema | None:
    item = store.get(_schema_key(block_schema_id))
    return _with_types([decode(item, BlockSchema)])[0] if item else None


def read_or_404(block_schema_id: UUID) -> BlockSchema:
    schema = read(block_schema_id)
    if schema is None:
        raise ObjectNotFound(NOT_FOUND)
    return schema


def read_many(block_schema_ids: Iterable[UUID]) -> dict[UUID, BlockSchema]:
    items = store.batch_get((_schema_key(i), store.META) for i in block_schema_ids)
    schemas = _with_types([decode(item, BlockSchema) for item in items])
    return {schema.id: schema for schema in schemas}


def id_by_checksum(checksum: str, version: str | None = None) -> UUID | None:
    """The schema with this checksum (and version), else the newest one with the checksum."""
    if version is not None:
        item = store.get(_checksum_key(checksum), _version_sk(version))
        return UUID(json.loads(item.body)["id"]) if item and item.body else None
    newest = max(store.query(_checksum_key(checksum)), key=lambda i: i.state_timestamp or "", default=None)
    return UUID(json.loads(newest.body)["id"]) if newest and newest.body else None


def registered_identities(identities: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (checksum, version) pairs already have a schema (BatchGetItem, for registration)."""
    items = store.batch_get((_checksum_key(c), _version_sk(v)) for c, v in identities)
    return {(item.PK.removeprefix("BLOCK_SCHEMA_CHECKSUM#"), item.SK.removeprefix("VERSION#")) for item in items}


def read_by_checksum(checksum: str, version: str | None = None) -> BlockSchema | None:
    schema_id = id_by_checksum(checksum, version)
    return read(schema_id) if schema_id else None


def _candidates(block_schemas: BlockSchemaFilter | None) -> Iterable[TableItem]:
    hints = block_schemas.index_hints() if block_schemas is not None else {}
    if "id" in hints:
        return sorted(
            store.batch_get((_schema_key(i), store.META) for i in hints["id"]),
            key=lambda i: i.GSI1SK or "",
            reverse=True,
        )
    if "block_type_id" in hints:
        per_type = [
            store.query(key("BLOCK_SCHEMAS#TYPE", t), index="GSI2", descending=True) for t in hints["block_type_id"]
        ]
        return sorted((item for items in per_type for item in items), key=lambda i: i.GSI1SK or "", reverse=True)
    return store.query("BLOCK_SCHEMAS", index="GSI1", descending=True)


def filter_schemas(
    block_schemas: BlockSchemaFilter | None, offset: int = 0, limit: int | None = None
) -> list[BlockSchema]:
    """Matching schemas, newest first (the reference orders by created DESC)."""
    matched: list[BlockSchema] = []
    skipped = 0
    for item in _candidates(block_schemas):
        schema = decode(item, BlockSchema)
        if block_schemas is not None and not block_schemas.matches(schema):
            continue
        if skipped < offset:
            skipped += 1
            continue
        matched.append(schema)
        if limit is not None and len(matched) >= limit:
            break
    return _with_types(matched)


def capabilities() -> list[str]:
    found: set[str] = set()
    for item in store.query("BLOCK_SCHEMAS", index="GSI1"):
        found.update(decode(item, BlockSchema).capabilities)
    return sorted(found)


# --- writes ------------------------------------------------------------------------


def _child_fields(
    definitions: dict[str, Any], parent_fields: dict[str, Any], field: str, block_type: BlockType
) -> dict[str, Any] | None:
    """The definition a nested block field points at (for unions: the one of `block_type`)."""
    refs: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("$ref"), str):
                refs.append(value["$ref"])
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect(parent_fields.get("properties", {}).get(field, {}))
    names = [ref.replace("#/definitions/", "") for ref in refs]
    if len(names) == 1:
        return definitions.get(names[0])
    return next(
        (definitions[n] for n in names if definitions.get(n, {}).get("block_type_slug") == block_type.slug), None
    )


def _register_nested(fields: dict[str, Any], definitions: dict[str, Any] | None) -> None:
    """Create the schemas of nested blocks that are not registered yet (their types must exist)."""
    for field, entries in (fields.get("block_schema_references") or {}).items():
        for entry in entries if isinstance(entries, list) else [entries]:
            if not isinstance(entry, dict) or "block_type_slug" not in entry:
                raise InvalidObject(f"Invalid block schema reference for field {field!r}.")
            block_type = type_store.read_by_slug(entry["block_type_slug"])
            if block_type is None:
                raise ObjectAlreadyExists(
                    f"Cannot create block schema because block type {entry['block_type_slug']!r} was not found."
                    "Did you forget to register the block type?"
                )
            if entry.get("block_schema_checksum") and id_by_checksum(entry["block_schema_checksum"]):
                continue
            if not definitions:
                raise InvalidObject(
                    "Unable to create nested block schema due to missing definitions in root block schema fields"
                )
            child = _child_fields(definitions, fields, field, block_type)
            if child is None:
                raise InvalidObject(
                    f"Unable to create nested block schema for block type {block_type.name!r} due to missing definition."
                )
            create(BlockSchemaCreate(fields={**child, "definitions": definitions}, block_type_id=block_type.id))


def create(body: BlockSchemaCreate) -> tuple[BlockSchema, bool]:
    """(schema, created). An existing (checksum, version) is returned as it is, never rewritten."""
    block_type = type_store.read(body.block_type_id)
    if block_type is None:
        raise ObjectNotFound(f"Block type {body.block_type_id} not found.")
    checksum = schema_checksum(body.fields)
    existing = read_by_checksum(checksum, body.version)
    if existing is not None:
        return existing, False
    _register_nested(body.fields, body.fields.get("definitions"))
    stamp = now_utc()
    # The reference always answers with the nested-block map in the fields, empty or not.
    fields = {**body.fields, "block_schema_references": body.fields.get("block_schema_references") or {}}
    schema = BlockSchema(
        **body.model_dump(exclude={"fields"}), fields=fields, checksum=checksum, created=stamp, updated=stamp
    )
    batch = store.WriteBatch()
    for item in to_items(schema):
        batch.put_new(item)
    try:
        store.transact(batch, on_conflict=ConcurrentUpdate)
    except ConcurrentUpdate:
        winner = read_by_checksum(checksum, body.version)  # a concurrent create of the same schema won
        if winner is None:
            raise
        return winner, False
    return schema.model_copy(update={"block_type": block_type}), True


def delete_by_id(block_schema_id: UUID) -> None:
    schema = read_or_404(block_schema_id)
    if schema.block_type is not None and schema.block_type.is_protected:
        raise ObjectProtected("Block schemas for protected block types cannot be deleted.")
    delete(schema)


def delete(schema: BlockSchema) -> None:
    batch = store.WriteBatch()
    for item in to_items(schema):
        batch.delete(item)
    store.transact(batch)


def of_type(block_type_id: UUID) -> list[BlockSchema]:
    return [decode(item, BlockSchema) for item in store.query(key("BLOCK_SCHEMAS#TYPE", block_type_id), index="GSI2")]
