"""The system block types and schemas every fresh stack holds, registered on first use.

`blocks_data/system_blocks.json` is what a fresh prefect 3.9.1 server registers at start
(its protected Secret / Webhook / LocalFileSystem types, the client's notification and
filesystem blocks, and its bundled collection blocks), read from the reference by
`infra/generate_system_blocks.py`: data, not code.

Registration is lazy and idempotent, never a per-request scan: each blocks Lambda process
reads one marker item (PK=BLOCK_REGISTRY#SYSTEM, body = digest of the data file) before its
first block request. A missing or older marker means: read the slug guards and schema
identities of the bundled blocks (BatchGetItem), write the missing ones (BatchWriteItem),
bring changed system types up to date (versioned conditional writes), then write the marker.
New types and schemas get ids derived from their slug / checksum+version (uuid5), so
processes registering at the same time write identical items instead of duplicates; new type
items are conditional puts, so a late registrar never overwrites a type updated meanwhile.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

from shared.schemas.base import now_utc
from shared.schemas.blocks import BlockSchema, BlockType
from shared.storage import block_schemas as schema_store
from shared.storage import block_types as type_store
from shared.storage import store
from shared.storage.errors import ObjectAlreadyExists
from shared.storage.table import TableItem

DATA_PATH = Path(__file__).resolve().parent / "blocks_data" / "system_blocks.json"
MARKER_KEY = "BLOCK_REGISTRY#SYSTEM"
# Fixed namespace for the derived ids of system block types and schemas.
ID_NAMESPACE = UUID("6f1c1f5e-2b1e-4d8a-9a57-5b0c8f3f0b10")

_lock = threading.Lock()
_ready = False


@lru_cache(maxsize=1)
def _raw() -> bytes:
    return DATA_PATH.read_bytes()


def data_digest() -> str:
    return hashlib.sha256(_raw()).hexdigest()


def system_block_types() -> list[dict[str, Any]]:
    data: dict[str, Any] = json.loads(_raw())
    return list(data["block_types"])


def register() -> int:
    """Write whatever of the bundled system blocks is missing or outdated; returns items written."""
    declared = system_block_types()
    stamp = now_utc()
    existing_ids = type_store.ids_by_slugs(t["slug"] for t in declared)
    new_items: list[TableItem] = []
    new_types: list[TableItem] = []
    type_ids: dict[str, UUID] = {}
    for spec in declared:
        fields = {k: v for k, v in spec.items() if k != "block_schemas"}
        block_type = BlockType(
            **fields,
            id=existing_ids.get(spec["slug"], uuid5(ID_NAMESPACE, f"block-type:{spec['slug']}")),
            created=stamp,
            updated=stamp,
        )
        type_ids[spec["slug"]] = block_type.id
        if spec["slug"] in existing_ids:
            type_store.replace_registered(block_type)
        else:
            new_types.append(type_store.to_item(block_type))
            new_items += type_store.guards(block_type)
    registered = schema_store.registered_identities(
        (s["checksum"], s["version"]) for t in declared for s in t["block_schemas"]
    )
    order = 0
    for spec in declared:
        for schema_spec in spec["block_schemas"]:
            order += 1
            if (schema_spec["checksum"], schema_spec["version"]) in registered:
                continue
            # One microsecond apart in the data's (the reference's) registration order, so
            # "newest first" listings match the reference's.
            created = stamp + datetime.timedelta(microseconds=order)
            schema = BlockSchema(
                **schema_spec,
                id=uuid5(ID_NAMESPACE, f"block-schema:{schema_spec['checksum']}#{schema_spec['version']}"),
                block_type_id=type_ids[spec["slug"]],
                created=created,
                updated=created,
            )
            new_items += schema_store.to_items(schema)
    written = 0
    for item in new_types:
        # Conditional: a registrar that read the table before another one finished must not
        # overwrite a type someone has updated since. Guards and schemas are identical whoever
        # writes them (derived ids; schemas never change), so those go in batches.
        try:
            store.put_new(item)
            written += 1
        except ObjectAlreadyExists:
            pass
    written += store.batch_put(new_items) if new_items else 0
    store.put(TableItem(MARKER_KEY, store.META, entity="block_registry", body=data_digest()))
    return written


def ensure_registered() -> None:
    """Register the system blocks unless this process or the table already has this data version."""
    global _ready
    if _ready:
        return
    with _lock:
        if _ready:
            return  # type: ignore[unreachable]  # another thread may have registered while this one waited
        marker = store.get(MARKER_KEY)
        if marker is None or marker.body != data_digest():
            register()
        _ready = True
