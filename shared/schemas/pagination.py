"""Pagination and bulk responses for flows (runs have theirs beside their models)."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.schemas.flows import Flow


class FlowPaginationResponse(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(defer_build=True)  # built on first use (cold start)
    results: list[Flow]
    count: int
    limit: int
    pages: int
    page: int


class FlowBulkDeleteResponse(BaseModel):
    deleted: list[UUID]
