"""Admin payloads: server settings view and default result storage."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from shared.config import get_settings
from shared.schemas.base import APIBaseModel


class ServerDefaultResultStorage(APIBaseModel):
    default_result_storage_block_id: UUID | None = None


class ServerDefaultResultStorageUpdate(APIBaseModel):
    """PUT /admin/storage: the block document to use (required, as the reference)."""

    default_result_storage_block_id: UUID = Field(
        description="The block document ID of the server default result storage block."
    )


# What a block must be able to do to hold results (the reference's check).
RESULT_STORAGE_CAPABILITY = "write-path"


def cannot_store_results(capabilities: list[str] | None) -> bool:
    return RESULT_STORAGE_CAPABILITY not in (capabilities or [])


class ServerAPISettings(APIBaseModel):
    default_limit: int = 200
    # Comma-separated, as the reference reports server.api.cors_allowed_*.
    cors_allowed_origins: str = "*"
    cors_allowed_methods: str = "*"
    cors_allowed_headers: str = "*"


class ServerServicesSettings(APIBaseModel):
    cancelling_timeout_seconds: int = 300


class ServerSection(APIBaseModel):
    analytics_enabled: bool = False
    api: ServerAPISettings = Field(default_factory=ServerAPISettings)
    services: ServerServicesSettings = Field(default_factory=ServerServicesSettings)


class ServerSettings(APIBaseModel):
    """The subset of Prefect's settings document that clients read."""

    server: ServerSection = Field(default_factory=ServerSection)
    backend: str = "serverflow"
    version: str = "3.9.1"

    @classmethod
    def current(cls) -> ServerSettings:
        settings = get_settings()
        return cls(
            server=ServerSection(
                analytics_enabled=False,
                api=ServerAPISettings(
                    cors_allowed_origins=",".join(settings.cors_allowed_origins),
                    cors_allowed_methods=",".join(settings.cors_allowed_methods),
                    cors_allowed_headers=",".join(settings.cors_allowed_headers),
                ),
                services=ServerServicesSettings(cancelling_timeout_seconds=settings.cancelling_timeout_seconds),
            ),
            version=settings.server_version,
        )
