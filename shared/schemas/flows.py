"""Flow objects and the payloads that create/update them (POST/PATCH /flows)."""

from __future__ import annotations

from pydantic import Field

from shared.schemas.base import ActionBaseModel, ObjectBaseModel
from shared.schemas.types import KeyValueLabels, Name


class Flow(ObjectBaseModel):
    """A flow as returned by GET /flows/{id}; the name is unique across the workspace."""

    name: Name
    tags: list[str] = Field(default_factory=list)
    labels: KeyValueLabels | None = Field(default_factory=dict)


class FlowCreate(ActionBaseModel):
    """Body of POST /flows/ (the client upserts by name)."""

    name: Name
    tags: list[str] = Field(default_factory=list)
    labels: KeyValueLabels | None = Field(default_factory=dict)


class FlowUpdate(ActionBaseModel):
    """Body of PATCH /flows/{id}: only tags may change (name is the identity)."""

    tags: list[str] = Field(default_factory=list)


__all__ = ["Flow", "FlowCreate", "FlowUpdate"]
