"""Small value objects shared by several domains (run, deployment, automation)."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel


class CreatedBy(BaseModel):
    """Who created an object (a user, a deployment's scheduler, an automation...)."""

    id: UUID | None = None
    type: str | None = None
    display_value: str | None = None


class UpdatedBy(BaseModel):
    """Who last updated an object; same shape as CreatedBy."""

    id: UUID | None = None
    type: str | None = None
    display_value: str | None = None


__all__ = ["CreatedBy", "UpdatedBy"]
