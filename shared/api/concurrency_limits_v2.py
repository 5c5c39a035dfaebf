"""/v2/concurrency_limits routes (Prefect 3.9.1 `server/api/concurrency_limits_v2.py` compatible)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Literal
from uuid import UUID

from fastapi import Body, HTTPException, Path, status

from shared.api.dependencies import LimitBody
from shared.api.routing import ServerflowRouter
from shared.schemas.concurrency_limits import (
    MAXIMUM_CONCURRENCY_SLOT_WAIT_SECONDS,
    TAG_CONCURRENCY_SLOT_WAIT_SECONDS,
    TAG_PREFIX,
    ConcurrencyLeaseHolder,
    ConcurrencyLimitV2,
    ConcurrencyLimitV2Create,
    ConcurrencyLimitV2Update,
    ConcurrencyLimitWithLeaseResponse,
    GlobalConcurrencyLimitResponse,
    MinimalConcurrencyLimitResponse,
)
from shared.schemas.types import now_utc
from shared.storage import concurrency_leases as lease_store
from shared.storage import concurrency_limits as limit_store
from shared.storage.concurrency_leases import Acquisition
from shared.storage.concurrency_limits import StoredLimit

router = ServerflowRouter(prefix="/v2/concurrency_limits", tags=["Concurrency Limits V2"])

ID_OR_NAME = Path(..., description="The ID or name of the concurrency limit", alias="id_or_name")
LEASE_DURATION = Body(300, ge=60, le=60 * 60 * 24, description="The duration of the lease in seconds.")


def _minimal(limits: list[StoredLimit]) -> list[MinimalConcurrencyLimitResponse]:
    return [MinimalConcurrencyLimitResponse(id=s.limit.id, name=s.limit.name, limit=s.limit.limit) for s in limits]


def _max_wait(stored: StoredLimit) -> float:
    return (
        TAG_CONCURRENCY_SLOT_WAIT_SECONDS
        if stored.limit.name.startswith(TAG_PREFIX)
        else MAXIMUM_CONCURRENCY_SLOT_WAIT_SECONDS
    )


def _locked(acquisition: Acquisition, slots: int) -> HTTPException:
    """423 with a Retry-After estimated from the most contended limit, like the reference:
    queued demand (requested + recently denied slots) times the time one slot stays taken,
    capped for concurrency limits, with jitter so waiters do not all wake together."""
    now = now_utc()
    active = acquisition.active_limits
    limit_store.record_denied(active, slots, now, MAXIMUM_CONCURRENCY_SLOT_WAIT_SECONDS)

    def blocking(stored: StoredLimit) -> float:
        denied = stored.denied_slots_at(now, _max_wait(stored)) + slots
        return denied if stored.limit.slot_decay_per_second > 0 else denied / max(stored.limit.limit, 1)

    worst = max(active, key=blocking)
    if worst.limit.slot_decay_per_second > 0:
        interval = blocking(worst) / worst.limit.slot_decay_per_second
    else:
        per_slot = min(worst.limit.avg_slot_occupancy_seconds, _max_wait(worst))
        interval = min(per_slot * blocking(worst), _max_wait(worst))
    retry_after = max(interval * random.uniform(0.8, 1.2), 0.0)
    return HTTPException(status.HTTP_423_LOCKED, headers={"Retry-After": str(retry_after)})


def _check_rate_limit_mode(mode: str, names: list[str]) -> None:
    if mode != "rate_limit":
        return
    limits = [s for s in limit_store.read_by_names(names) if s.limit.active]
    non_decaying = [s.limit.name for s in limits if s.limit.slot_decay_per_second == 0]
    if non_decaying:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            detail=(
                "Only concurrency limits with slot decay can be used for rate limiting. The following limits "
                f"do not have a decay configured: {','.join(non_decaying)!r}"
            ),
        )


@router.post("/", status_code=status.HTTP_201_CREATED, description="Create a global concurrency limit.")
def create_concurrency_limit_v2(concurrency_limit: ConcurrencyLimitV2Create) -> ConcurrencyLimitV2:
    return limit_store.create(concurrency_limit).model()


@router.get("/{id_or_name}", description="Read a global concurrency limit by id or name.")
def read_concurrency_limit_v2(id_or_name: str = ID_OR_NAME) -> GlobalConcurrencyLimitResponse:
    return limit_store.read_or_404(id_or_name).response()


@router.post("/filter", description="List global concurrency limits, in name order.")
def read_all_concurrency_limits_v2(
    limit: int = LimitBody(), offset: int = Body(0, ge=0)
) -> list[GlobalConcurrencyLimitResponse]:
    now = now_utc()
    return [s.response(now) for s in limit_store.list_limits(offset, limit)]


@router.patch("/{id_or_name}", status_code=status.HTTP_204_NO_CONTENT, description="Update a global concurrency limit.")
def update_concurrency_limit_v2(concurrency_limit: ConcurrencyLimitV2Update, id_or_name: str = ID_OR_NAME) -> None:
    limit_store.update(id_or_name, concurrency_limit)


@router.delete(
    "/{id_or_name}", status_code=status.HTTP_204_NO_CONTENT, description="Delete a global concurrency limit."
)
def delete_concurrency_limit_v2(id_or_name: str = ID_OR_NAME) -> None:
    lease_store.delete_limit(limit_store.read_or_404(id_or_name))


def _acquire_or_raise(acquire: Callable[[], Acquisition], slots: int) -> Acquisition:
    try:
        acquisition = acquire()
    except lease_store.SlotsExceedLimit as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from None
    if not acquisition.acquired:
        raise _locked(acquisition, slots)
    return acquisition


@router.post("/increment", description="Take slots on the named limits (all or none); 423 when one is full.")
def bulk_increment_active_slots(
    slots: int = Body(..., gt=0),
    names: list[str] = Body(..., min_length=1),
    mode: Literal["concurrency", "rate_limit"] = Body("concurrency"),
    create_if_missing: bool | None = Body(
        None, deprecated=True, description="Limits must be explicitly created before acquiring concurrency slots."
    ),
) -> list[MinimalConcurrencyLimitResponse]:
    _check_rate_limit_mode(mode, names)
    acquisition = _acquire_or_raise(lambda: lease_store.increment(names, slots), slots)
    return _minimal(acquisition.limits)


@router.post(
    "/increment-with-lease",
    description="Take slots on the named limits under a lease the holder renews; 423 (Retry-After) when full.",
)
def bulk_increment_active_slots_with_lease(
    slots: int = Body(..., gt=0),
    names: list[str] = Body(..., min_length=1),
    mode: Literal["concurrency", "rate_limit"] = Body("concurrency"),
    lease_duration: float = LEASE_DURATION,
    holder: ConcurrencyLeaseHolder | None = Body(
        None, description="The holder of the lease with type (flow_run, task_run, or deployment) and id."
    ),
) -> ConcurrencyLimitWithLeaseResponse:
    _check_rate_limit_mode(mode, names)
    acquisition = _acquire_or_raise(lambda: lease_store.acquire(names, slots, lease_duration, holder), slots)
    assert acquisition.lease is not None
    return ConcurrencyLimitWithLeaseResponse(lease_id=acquisition.lease.id, limits=_minimal(acquisition.limits))


@router.post("/decrement", description="Give slots back on the named limits.")
def bulk_decrement_active_slots(
    slots: int = Body(..., gt=0),
    names: list[str] = Body(..., min_length=1),
    occupancy_seconds: float | None = Body(None, gt=0.0),
    create_if_missing: bool | None = Body(
        None, deprecated=True, description="Limits must be explicitly created before decrementing active slots."
    ),
) -> list[MinimalConcurrencyLimitResponse]:
    return _minimal(lease_store.decrement(names, slots, occupancy_seconds))


@router.post(
    "/decrement-with-lease",
    status_code=status.HTTP_204_NO_CONTENT,
    description="Release a lease's slots and revoke it (an unknown lease is a no-op).",
)
def bulk_decrement_active_slots_with_lease(
    lease_id: UUID = Body(
        ..., embed=True, description="The ID of the lease corresponding to the concurrency limits to decrement."
    ),
) -> None:
    lease_store.release(lease_id)


@router.post(
    "/leases/{lease_id}/renew",
    status_code=status.HTTP_204_NO_CONTENT,
    description="Extend a lease; 410 Gone when it is unknown or has expired (its slots were reclaimed).",
)
def renew_concurrency_lease(
    lease_id: UUID = Path(..., description="The ID of the lease to renew"),
    lease_duration: float = Body(
        300, ge=60, le=60 * 60 * 24, embed=True, description="The duration of the lease in seconds."
    ),
) -> None:
    if not lease_store.renew(lease_id, lease_duration):
        raise HTTPException(status.HTTP_410_GONE, detail="Lease not found - it may have expired or been revoked")
