"""Request parameters shared by the routers: `limit` from the JSON body, an automation's provenance headers."""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

from fastapi import Body, Depends, Header, HTTPException

from shared.schemas.common import CreatedBy
from shared.schemas.filters.limits import DEFAULT_LIMIT, LimitError, page_count, resolve_limit

__all__ = ["DEFAULT_LIMIT", "LimitBody", "created_by_header", "page_count"]


def _limit(limit: int | None = Body(None, description=f"Defaults to {DEFAULT_LIMIT}.")) -> int:
    try:
        return resolve_limit(limit)
    except LimitError as exc:
        raise HTTPException(422, detail=str(exc)) from exc


def LimitBody() -> Any:  # noqa: N802 - reads like FastAPI's Body()
    """`limit` from the JSON body, defaulting and capped like the reference."""
    return Depends(_limit)


def created_by_header(
    prefect_automation_id: UUID | None = Header(None, include_in_schema=False),
    prefect_automation_name: str | None = Header(None, include_in_schema=False),
) -> CreatedBy | None:
    """Provenance of a run created by an automation (flow_runs and deployments routes)."""
    # Runs created by an automation's action carry its id and base64 name in headers.
    if prefect_automation_id is None or not prefect_automation_name:
        return None
    try:
        display = base64.b64decode(prefect_automation_name.encode()).decode()
    except Exception:  # noqa: BLE001 - a bad header just means no provenance
        return None
    return CreatedBy(id=prefect_automation_id, type="AUTOMATION", display_value=display) if display else None
