"""CSRF token route.

Serverflow authenticates with bearer API keys, not cookies, so CSRF protection is
off; the prefect client disables CSRF for itself on exactly this 422 detail.
"""

from __future__ import annotations

from fastapi import HTTPException, Query

from shared.api.routing import ServerflowRouter

router = ServerflowRouter(tags=["Auth"])


@router.get("/csrf-token")
def create_csrf_token(client: str = Query(..., description="The client to create a CSRF token for")) -> None:
    """Create or update a CSRF token for a client"""
    raise HTTPException(status_code=422, detail="CSRF protection is disabled.")
