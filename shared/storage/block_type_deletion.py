"""Deleting a block type with what hangs off it: the reference's foreign keys cascade a type's
delete to its schemas and documents, so ours does too (protected system types stay)."""

from __future__ import annotations

from uuid import UUID

from shared.storage import block_documents as document_store
from shared.storage import block_schemas as schema_store
from shared.storage import block_types as type_store
from shared.storage.errors import ObjectProtected


def delete_block_type(block_type_id: UUID) -> None:
    block_type = type_store.read_or_404(block_type_id)
    if block_type.is_protected:
        raise ObjectProtected("protected block types cannot be deleted.")
    # The type first: once it is gone its documents are no longer readable, whatever happens next.
    type_store.delete(block_type)
    for schema in schema_store.of_type(block_type_id):
        schema_store.delete(schema)
    document_store.delete_of_type(block_type_id)
