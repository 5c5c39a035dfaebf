"""/saved_searches routes (Prefect 3.9.1 `server/api/saved_searches.py` compatible)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Body, Path, Response, status

from shared.api.dependencies import LimitBody
from shared.schemas.saved_searches import SavedSearch, SavedSearchCreate
from shared.storage import saved_searches as saved_search_store
from shared.storage.errors import ObjectNotFound

router = APIRouter(prefix="/saved_searches", tags=["SavedSearches"])


@router.put(
    "/",
    description=(
        "Create a saved search (201). If a saved search with the same name exists, its filters are "
        "replaced and it is returned with 200."
    ),
)
def create_saved_search(saved_search: SavedSearchCreate, response: Response) -> SavedSearch:
    search, created = saved_search_store.upsert(saved_search)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return search


@router.get("/{id:uuid}", description="Get a saved search by id.")
def read_saved_search(saved_search_id: UUID = Path(..., alias="id", description="The saved search id")) -> SavedSearch:
    search = saved_search_store.read(saved_search_id)
    if search is None:
        raise ObjectNotFound(saved_search_store.NOT_FOUND)
    return search


@router.post("/filter", description="Query for saved searches, in name order.")
def read_saved_searches(limit: int = LimitBody(), offset: int = Body(0, ge=0)) -> list[SavedSearch]:
    return saved_search_store.read_page(offset, limit)


@router.delete("/{id:uuid}", status_code=status.HTTP_204_NO_CONTENT, description="Delete a saved search by id.")
def delete_saved_search(saved_search_id: UUID = Path(..., alias="id", description="The saved search id")) -> None:
    saved_search_store.delete(saved_search_id)
