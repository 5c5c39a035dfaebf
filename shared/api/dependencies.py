"""Request parameters shared by the list endpoints (limit from the JSON body)."""

from __future__ import annotations

from typing import Any

from fastapi import Body, Depends, HTTPException

from shared.schemas.filters.bodies import DEFAULT_LIMIT, LimitError, page_count, resolve_limit

__all__ = ["DEFAULT_LIMIT", "LimitBody", "page_count"]


def _limit(limit: int | None = Body(None, description=f"Defaults to {DEFAULT_LIMIT}.")) -> int:
    try:
        return resolve_limit(limit)
    except LimitError as exc:
        raise HTTPException(422, detail=str(exc)) from exc


def LimitBody() -> Any:  # noqa: N802 - reads like FastAPI's Body()
    """`limit` from the JSON body, defaulting and capped like the reference."""
    return Depends(_limit)
