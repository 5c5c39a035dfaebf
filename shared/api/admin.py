"""Admin and root routes: health, versions, settings, default result storage."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Response, status

from shared.api.errors import DatabaseNotReady
from shared.api.routing import ServerflowRouter
from shared.config import get_settings
from shared.schemas.admin import (
    ServerDefaultResultStorage,
    ServerDefaultResultStorageUpdate,
    ServerSettings,
    cannot_store_results,
)
from shared.storage import admin as admin_store
from shared.storage import block_documents as block_document_store
from shared.storage.errors import ObjectNotFound

# Prefect's REST API version (client/constants.py SERVER_API_VERSION in 3.9.1).
SERVER_API_VERSION = "0.8.4"

router = ServerflowRouter(tags=["Admin"])


@router.get("/health", description="True while the API can reach its database (503 and false when it cannot).")
def health_check() -> Any:
    if not admin_store.reachable():
        raise DatabaseNotReady(False)
    return True


@router.get("/version", summary="Server Version")
def server_api_version() -> str:
    """The version of the Prefect REST API this server speaks (the prefect client checks it)."""
    return SERVER_API_VERSION


@router.get("/hello")
def hello() -> str:
    """Say hello!"""
    return "👋"


@router.get(
    "/ready",
    description="Whether the database answers: 200 OK, else 503 with Retry-After.",
    summary="Perform Readiness Check",
)
def ready() -> Any:
    if not admin_store.reachable():
        raise DatabaseNotReady({"message": "Database is not available"})
    return {"message": "OK"}


# The version only changes with a deployment, and every prefect client asks for it (twice per flow run):
# CloudFront may answer it from its cache for this long (template.yaml, `VersionCachePolicy`), which costs a
# CloudFront request instead of one through API Gateway and a Lambda.
VERSION_MAX_AGE_SECONDS = 300


@router.get("/admin/version")
def read_version(response: Response) -> str:
    """Returns the Prefect version number"""
    response.headers["Cache-Control"] = f"public, max-age={VERSION_MAX_AGE_SECONDS}"
    # The prefect client checks the major version (must be 3) on its first request.
    return get_settings().server_version


@router.get("/admin/settings")
def read_settings() -> dict[str, Any]:
    """Get the current Prefect REST API settings.

    Secret setting values will be obfuscated.
    """
    # Analytics is never enabled: `true` would make clients send telemetry off-host.
    return ServerSettings.current().model_dump(mode="json")


@router.get("/admin/storage", summary="Read Server Default Result Storage")
def read_default_result_storage() -> ServerDefaultResultStorage:
    """Get the configured server default result storage block."""
    return admin_store.read_default_result_storage()


@router.put(
    "/admin/storage",
    description="Set the server default result storage block.",
    summary="Update Server Default Result Storage",
)
def update_default_result_storage(configuration: ServerDefaultResultStorageUpdate) -> ServerDefaultResultStorage:
    block_id = configuration.default_result_storage_block_id
    document = block_document_store.read(block_id)
    if document is None:
        raise ObjectNotFound(f"Block document {block_id} not found.")
    if cannot_store_results(document.block_schema.capabilities if document.block_schema else None):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY, detail=f"Block document {block_id} cannot be used for result storage."
        )
    return admin_store.write_default_result_storage(
        ServerDefaultResultStorage(default_result_storage_block_id=block_id)
    )


@router.delete("/admin/storage", status_code=status.HTTP_204_NO_CONTENT, summary="Clear Server Default Result Storage")
def clear_default_result_storage() -> None:
    """Clear the configured server default result storage block."""
    admin_store.write_default_result_storage(ServerDefaultResultStorage())
