"""/block_documents routes (Prefect 3.9.1 `server/api/block_documents.py` compatible)."""

from __future__ import annotations

from uuid import UUID

from fastapi import Body, Path, Query, status

from shared.api.block_dependencies import SystemBlocksRegistered
from shared.api.dependencies import LimitBody
from shared.api.routing import ServerflowRouter
from shared.schemas.blocks import BlockDocument, BlockDocumentCreate, BlockDocumentUpdate
from shared.schemas.filters.misc import BlockDocumentFilter, BlockSchemaFilter, BlockTypeFilter
from shared.schemas.sorting import BlockDocumentSort
from shared.storage import block_documents as document_store

router = ServerflowRouter(prefix="/block_documents", tags=["Block documents"], dependencies=[SystemBlocksRegistered])

INCLUDE_SECRETS = "Whether to include sensitive values in the block document."


@router.post(
    "/",
    status_code=status.HTTP_201_CREATED,
    description="Create a new block document (409 if its type already has one of that name).",
)
def create_block_document(block_document: BlockDocumentCreate) -> BlockDocument:
    return document_store.create(block_document)


@router.post("/filter", description="Query for block documents.")
def read_block_documents(
    limit: int = LimitBody(),
    block_documents: BlockDocumentFilter | None = None,
    block_types: BlockTypeFilter | None = None,
    block_schemas: BlockSchemaFilter | None = None,
    include_secrets: bool = Body(False, description=INCLUDE_SECRETS),
    sort: BlockDocumentSort | None = Body(BlockDocumentSort.NAME_ASC),
    offset: int = Body(0, ge=0),
) -> list[BlockDocument]:
    return document_store.filter_documents(
        block_documents,
        block_types,
        block_schemas,
        include_secrets=include_secrets,
        sort=sort or BlockDocumentSort.NAME_ASC,
        offset=offset,
        limit=limit,
    )


@router.post("/count", description="Count block documents.")
def count_block_documents(
    block_documents: BlockDocumentFilter | None = None,
    block_types: BlockTypeFilter | None = None,
    block_schemas: BlockSchemaFilter | None = None,
) -> int:
    return document_store.count_documents(block_documents, block_types, block_schemas)


@router.get("/{id:uuid}", description="Read a block document by id.")
def read_block_document_by_id(
    block_document_id: UUID = Path(..., description="The block document id", alias="id"),
    include_secrets: bool = Query(False, description=INCLUDE_SECRETS),
) -> BlockDocument:
    return document_store.read_or_404(block_document_id, include_secrets)


@router.delete("/{id:uuid}", status_code=status.HTTP_204_NO_CONTENT, description="Delete a block document.")
def delete_block_document(block_document_id: UUID = Path(..., description="The block document id", alias="id")) -> None:
    document_store.delete(block_document_id)


@router.patch(
    "/{id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    description="Update a block document's data (merged by default) or schema.",
)
def update_block_document_data(
    block_document: BlockDocumentUpdate,
    block_document_id: UUID = Path(..., description="The block document id", alias="id"),
) -> None:
    document_store.update(block_document_id, block_document)
