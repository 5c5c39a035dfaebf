"""/block_schemas routes (Prefect 3.9.1 `server/api/block_schemas.py` compatible)."""

from __future__ import annotations

from uuid import UUID

from fastapi import Body, Path, Query, Response, status

from shared.api.block_dependencies import SystemBlocksRegistered
from shared.api.dependencies import LimitBody
from shared.api.routing import ServerflowRouter
from shared.schemas.blocks import BlockSchema, BlockSchemaCreate
from shared.schemas.filters.misc import BlockSchemaFilter
from shared.storage import block_schemas as schema_store
from shared.storage.errors import ObjectNotFound

router = ServerflowRouter(prefix="/block_schemas", tags=["Block schemas"], dependencies=[SystemBlocksRegistered])


@router.post(
    "/",
    status_code=status.HTTP_201_CREATED,
    description="Create a block schema. A schema with the same checksum and version is returned as it is (200).",
)
def create_block_schema(block_schema: BlockSchemaCreate, response: Response) -> BlockSchema:
    schema, created = schema_store.create(block_schema)
    if not created:
        response.status_code = status.HTTP_200_OK
    return schema


@router.delete("/{id:uuid}", status_code=status.HTTP_204_NO_CONTENT, description="Delete a block schema by id.")
def delete_block_schema(block_schema_id: UUID = Path(..., description="The block schema id", alias="id")) -> None:
    schema_store.delete_by_id(block_schema_id)


@router.post("/filter", description="Read all block schemas, optionally filtered by type")
def read_block_schemas(
    block_schemas: BlockSchemaFilter | None = None,
    limit: int = LimitBody(),
    offset: int = Body(0, ge=0),
) -> list[BlockSchema]:
    return schema_store.filter_schemas(block_schemas, offset, limit)


@router.get("/{id:uuid}", description="Get a block schema by id.")
def read_block_schema_by_id(
    block_schema_id: UUID = Path(..., description="The block schema id", alias="id"),
) -> BlockSchema:
    return schema_store.read_or_404(block_schema_id)


@router.get("/checksum/{checksum}", description="Get a block schema by checksum (and version).")
def read_block_schema_by_checksum(
    block_schema_checksum: str = Path(..., description="The block schema checksum", alias="checksum"),
    version: str | None = Query(
        None,
        description="Version of block schema. If not provided the most recently created block schema with the matching checksum will be returned.",
    ),
) -> BlockSchema:
    schema = schema_store.read_by_checksum(block_schema_checksum, version)
    if schema is None:
        raise ObjectNotFound(schema_store.NOT_FOUND)
    return schema
