"""The payload of `/ui-settings` (prefect 3.9.1's UISettings), apart from the `/ui/...` payloads
(shared.schemas.ui): the ui_settings Lambda serves only this route and needs none of the run schemas those
embed (issue #13: cold start)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.schemas.base import APIBaseModel

UIVersion = Literal["v1", "v2"]


class UISettings(APIBaseModel):
    """Runtime UI configuration returned by /ui-settings."""

    api_url: str = Field(description="The base URL for API requests.")
    csrf_enabled: bool = Field(description="Whether CSRF protection is enabled.")
    auth: str | None = Field(description="Authentication method (e.g., 'BASIC') or null if disabled.")
    flags: list[str] = Field(default_factory=list, description="List of enabled feature flags.")
    default_ui: UIVersion = Field(
        description="The UI neutral entry points open when the browser has no saved preference."
    )
    available_uis: list[UIVersion] = Field(default_factory=list, description="UI bundles available on this server.")
    v1_base_url: str | None = Field(default=None, description="The base URL of the V1 UI, or null when unavailable.")
    v2_base_url: str | None = Field(default=None, description="The base URL of the V2 UI, or null when unavailable.")
