"""/concurrency_limits routes: v1 tag limits served over the v2 limits named `tag:<tag>`
(Prefect 3.9.1 `server/api/concurrency_limits.py` compatible)."""

from __future__ import annotations

from uuid import UUID

from fastapi import Body, HTTPException, Path, Response, status

from shared.api.dependencies import LimitBody
from shared.api.routing import ServerflowRouter
from shared.schemas.concurrency_limits import (
    TAG_CONCURRENCY_SLOT_WAIT_SECONDS,
    ConcurrencyLimit,
    ConcurrencyLimitCreate,
    MinimalConcurrencyLimitResponse,
)
from shared.storage import concurrency_limits as limit_store
from shared.storage import tag_concurrency_limits as tag_limits
from shared.storage.errors import ObjectNotFound

router = ServerflowRouter(prefix="/concurrency_limits", tags=["Concurrency Limits"])

TAG = Path(..., description="The tag name")


@router.post("/", description="Create (201) or update (200) the concurrency limit of a tag.")
def create_concurrency_limit(concurrency_limit: ConcurrencyLimitCreate, response: Response) -> ConcurrencyLimit:
    view, created = tag_limits.upsert(concurrency_limit.tag, concurrency_limit.concurrency_limit)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return view


@router.get(
    "/{id:uuid}",
    description="Get a concurrency limit by id; `active_slots` lists the task runs holding a slot.",
)
def read_concurrency_limit(
    concurrency_limit_id: UUID = Path(..., description="The concurrency limit id", alias="id"),
) -> ConcurrencyLimit:
    return tag_limits.read_by_id(concurrency_limit_id)


@router.get("/tag/{tag}", description="Get a concurrency limit by tag.")
def read_concurrency_limit_by_tag(tag: str = TAG) -> ConcurrencyLimit:
    return tag_limits.view(tag_limits.read_stored_by_tag(tag))


@router.post("/filter", description="List tag concurrency limits, in tag order.")
def read_concurrency_limits(limit: int = LimitBody(), offset: int = Body(0, ge=0)) -> list[ConcurrencyLimit]:
    return tag_limits.list_views(offset, limit)


@router.post(
    "/tag/{tag}/reset",
    description="Free every slot of a tag's limit (optionally re-taking them for the given task runs).",
)
def reset_concurrency_limit_by_tag(
    tag: str = TAG,
    slot_override: list[UUID] | None = Body(
        None, embed=True, description="Manual override for active concurrency limit slots."
    ),
) -> None:
    tag_limits.reset(tag, slot_override)


@router.delete("/{id:uuid}", description="Delete a concurrency limit by id (its slots are released).")
def delete_concurrency_limit(
    concurrency_limit_id: UUID = Path(..., description="The concurrency limit id", alias="id"),
) -> None:
    stored = limit_store.read(concurrency_limit_id)
    if stored is None:
        raise ObjectNotFound("Concurrency limit not found")
    tag_limits.delete(stored)


@router.delete("/tag/{tag}", description="Delete the concurrency limit of a tag (its slots are released).")
def delete_concurrency_limit_by_tag(tag: str = TAG) -> None:
    tag_limits.delete(tag_limits.read_stored_by_tag(tag))


@router.post("/increment", description="Take a slot on each tag's limit for a task run; 423 when one is full.")
def increment_concurrency_limits_v1(
    names: list[str] = Body(..., description="The tags to acquire a slot for"),
    task_run_id: UUID = Body(..., description="The ID of the task run acquiring the slot"),
) -> list[MinimalConcurrencyLimitResponse]:
    try:
        taken = tag_limits.increment(names, task_run_id)
    except tag_limits.TagLimitIsZero as exc:
        raise HTTPException(status.HTTP_423_LOCKED, detail=str(exc)) from None
    except tag_limits.TagLimitReached as exc:
        raise HTTPException(
            status.HTTP_423_LOCKED, detail=str(exc), headers={"Retry-After": str(TAG_CONCURRENCY_SLOT_WAIT_SECONDS)}
        ) from None
    return [MinimalConcurrencyLimitResponse(id=s.limit.id, name=tag, limit=s.limit.limit) for tag, s in taken]


@router.post("/decrement", description="Release the slots a task run holds on these tags' limits.")
def decrement_concurrency_limits_v1(
    names: list[str] = Body(..., description="The tags to release a slot for"),
    task_run_id: UUID = Body(..., description="The ID of the task run releasing the slot"),
) -> list[MinimalConcurrencyLimitResponse]:
    limits = tag_limits.decrement(names, task_run_id)
    return [MinimalConcurrencyLimitResponse(id=s.limit.id, name=s.limit.name, limit=s.limit.limit) for s in limits]
