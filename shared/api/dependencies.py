"""Request parameters shared by the list endpoints (limit/offset/page)."""

from __future__ import annotations

from typing import Any

from fastapi import Body, Depends, HTTPException, status

DEFAULT_LIMIT = 200


def _limit(limit: int | None = Body(None, description=f"Defaults to {DEFAULT_LIMIT}.")) -> int:
    value = DEFAULT_LIMIT if limit is None else limit
    if value < 0:
        raise HTTPException(422, detail="Invalid limit: must be greater than or equal to 0.")
    if value > DEFAULT_LIMIT:
        raise HTTPException(
            422, detail=f"Invalid limit: must be less than or equal to {DEFAULT_LIMIT}."
        )
    return value


def LimitBody() -> Any:  # noqa: N802 - reads like FastAPI's Body()
    """`limit` from the JSON body, defaulting and capped like the reference."""
    return Depends(_limit)


def page_count(total: int, limit: int) -> int:
    return (total + limit - 1) // limit if limit else 0
