"""/block_types routes (Prefect 3.9.1 `server/api/block_types.py` compatible)."""

from __future__ import annotations

from uuid import UUID

from fastapi import Body, Path, Query, status

from shared.api.block_dependencies import SystemBlocksRegistered
from shared.api.dependencies import LimitBody
from shared.api.routing import ServerflowRouter
from shared.schemas.blocks import BlockDocument, BlockType, BlockTypeCreate, BlockTypeUpdate
from shared.schemas.filters.misc import (
    BlockDocumentFilter,
    BlockDocumentFilterBlockTypeId,
    BlockSchemaFilter,
    BlockTypeFilter,
)
from shared.storage import block_documents as document_store
from shared.storage import block_registration, block_type_deletion
from shared.storage import block_schemas as schema_store
from shared.storage import block_types as type_store
from shared.storage.errors import ObjectNotFound, ObjectProtected

router = ServerflowRouter(prefix="/block_types", tags=["Block types"], dependencies=[SystemBlocksRegistered])


@router.post("/", status_code=status.HTTP_201_CREATED, description="Create a new block type.")
def create_block_type(block_type: BlockTypeCreate) -> BlockType:
    # Names beginning with "Prefect" are reserved for system block types.
    if block_type.name.lower().startswith("prefect"):
        raise ObjectProtected("Block type names beginning with 'Prefect' are reserved.")
    return type_store.create(block_type)


@router.get("/{id:uuid}", description="Get a block type by ID.")
def read_block_type_by_id(block_type_id: UUID = Path(..., description="The block type ID", alias="id")) -> BlockType:
    return type_store.read_or_404(block_type_id)


@router.get("/slug/{slug}", description="Get a block type by slug.")
def read_block_type_by_slug(
    block_type_slug: str = Path(..., description="The block type name", alias="slug"),
) -> BlockType:
    return type_store.read_by_slug_or_404(block_type_slug)


@router.post("/filter", description="Gets all block types. Optionally limit return with limit and offset.")
def read_block_types(
    block_types: BlockTypeFilter | None = None,
    block_schemas: BlockSchemaFilter | None = None,
    limit: int = LimitBody(),
    offset: int = Body(0, ge=0),
) -> list[BlockType]:
    owning = (
        {s.block_type_id for s in schema_store.filter_schemas(block_schemas)} if block_schemas is not None else None
    )
    matched = type_store.filter_types(block_types, {t for t in owning if t is not None} if owning is not None else None)
    return matched[offset : offset + limit]


@router.patch("/{id:uuid}", status_code=status.HTTP_204_NO_CONTENT, description="Update a block type.")
def update_block_type(
    block_type: BlockTypeUpdate, block_type_id: UUID = Path(..., description="The block type ID", alias="id")
) -> None:
    type_store.update(block_type_id, block_type)


@router.delete(
    "/{id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    description="Delete a block type and its schemas and documents.",
)
def delete_block_type(block_type_id: UUID = Path(..., description="The block type ID", alias="id")) -> None:
    block_type_deletion.delete_block_type(block_type_id)


@router.get(
    "/slug/{slug}/block_documents",
    tags=["Block types", "Block documents"],
    description="Read the block documents of a block type.",
)
def read_block_documents_for_block_type(
    block_type_slug: str = Path(..., description="The block type name", alias="slug"),
    include_secrets: bool = Query(False, description="Whether to include sensitive values in the block document."),
) -> list[BlockDocument]:
    block_type_id = type_store.id_by_slug(block_type_slug)
    if block_type_id is None:
        raise ObjectNotFound(type_store.NOT_FOUND)
    return document_store.filter_documents(
        BlockDocumentFilter(block_type_id=BlockDocumentFilterBlockTypeId(any_=[block_type_id])),
        None,
        None,
        include_secrets=include_secrets,
    )


@router.get(
    "/slug/{slug}/block_documents/name/{block_document_name}",
    tags=["Block types", "Block documents"],
    description="Read a block document by its block type's slug and its name.",
)
def read_block_document_by_name_for_block_type(
    block_type_slug: str = Path(..., description="The block type name", alias="slug"),
    block_document_name: str = Path(..., description="The block type name"),
    include_secrets: bool = Query(False, description="Whether to include sensitive values in the block document."),
) -> BlockDocument:
    document = document_store.read_by_name(block_type_slug, block_document_name, include_secrets)
    if document is None:
        raise ObjectNotFound(document_store.NOT_FOUND)
    return document


@router.post("/install_system_block_types", description="Install (or bring up to date) the system block types.")
def install_system_block_types() -> None:
    block_registration.register()
