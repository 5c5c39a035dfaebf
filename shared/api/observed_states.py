"""`GET /observed-states` (Prefect 3.9.1 `server/api/observed_states.py` compatible)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from shared.schemas.observed_states import ObservedState, ObservedStateSort
from shared.storage import observed_states as observed_state_store

router = APIRouter(prefix="/observed-states", tags=["Observed States"])


@router.get(
    "",
    description=(
        "Discover exact state names and types seen in flow and task run transitions. Search by "
        "case-insensitive name or type prefix (`query`); `order_by` LAST_SEEN_DESC (default) or NAME_ASC. "
        "last_seen may trail the newest transition by up to a minute."
    ),
)
def read_observed_states(
    query: Annotated[str | None, Query(max_length=100)] = None,
    order_by: ObservedStateSort = ObservedStateSort.LAST_SEEN_DESC,
    limit: Annotated[int, Query(ge=1, le=200)] = 200,
) -> list[ObservedState]:
    return observed_state_store.read(query, order_by, limit)
