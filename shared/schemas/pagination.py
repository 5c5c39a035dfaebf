"""Pagination and bulk responses for flows (runs have theirs beside their models)."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel

from shared.schemas.flows import Flow


class FlowPaginationResponse(BaseModel):
    results: list[Flow]
    count: int
    limit: int
    pages: int
    page: int


class FlowBulkDeleteResponse(BaseModel):
    deleted: list[UUID]
