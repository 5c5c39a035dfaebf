"""Saved searches: named filter sets of the UI (Prefect 3.9.1 `SavedSearch`, `SavedSearchCreate`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas.base import ActionBaseModel, ObjectBaseModel


class SavedSearchFilter(BaseModel):
    """One criterion of a saved search (unknown fields are dropped, as the reference does)."""

    model_config = ConfigDict(extra="ignore")

    object: str = Field(..., description="The object over which to filter.")
    property: str = Field(..., description="The property of the object on which to filter.")
    type: str = Field(..., description="The type of the property.")
    operation: str = Field(..., description="The operator to apply to the object. For example, `equals`.")
    value: Any = Field(..., description="A JSON-compatible value for the filter.")


class SavedSearch(ObjectBaseModel):
    name: str = Field(..., description="The name of the saved search.")
    filters: list[SavedSearchFilter] = Field(default_factory=list, description="The filter set for the saved search.")


class SavedSearchCreate(ActionBaseModel):
    name: str = Field(..., description="The name of the saved search.")
    filters: list[SavedSearchFilter] = Field(default_factory=list, description="The filter set for the saved search.")


__all__ = ["SavedSearch", "SavedSearchCreate", "SavedSearchFilter"]
