"""Page-size rules of the filter, count and paginate endpoints (reference setting server.api.default_limit).

Its own module so a router can apply them without importing every request-body model (cold start, #13).
"""

from __future__ import annotations

import os

# Reference setting server.api.default_limit: default and maximum page size.
DEFAULT_LIMIT = int(os.environ.get("SERVERFLOW_API_DEFAULT_LIMIT", "200"))


class LimitError(ValueError):
    """A bad `limit`; routers answer 422 with {"detail": str(error)} like the reference."""


def resolve_limit(limit: int | None, default_limit: int = DEFAULT_LIMIT) -> int:
    """The effective limit: default when absent, 422 when negative or above the default."""
    value = default_limit if limit is None else limit
    if not value >= 0:
        raise LimitError("Invalid limit: must be greater than or equal to 0.")
    if value > default_limit:
        raise LimitError(f"Invalid limit: must be less than or equal to {default_limit}.")
    return value


def page_count(count: int, limit: int) -> int:
    """`pages` of a paginate response: ceil(count / limit), 0 when limit is 0."""
    return (count + limit - 1) // limit if limit > 0 else 0
