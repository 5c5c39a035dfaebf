"""/block_capabilities routes (Prefect 3.9.1 `server/api/block_capabilities.py` compatible)."""

from __future__ import annotations

from shared.api.block_dependencies import SystemBlocksRegistered
from shared.api.routing import ServerflowRouter
from shared.storage import block_schemas as schema_store

router = ServerflowRouter(
    prefix="/block_capabilities", tags=["Block capabilities"], dependencies=[SystemBlocksRegistered]
)


@router.get("/", description="Get available block capabilities.")
def read_available_block_capabilities() -> list[str]:
    return schema_store.capabilities()
