"""Concurrency limits, field-compatible with prefect 3.9.1's JSON.

v2 ("global") limits are the stored objects; v1 tag limits are a view of the v2 limits
named `tag:<tag>` (as the reference serves them), and a lease records who holds slots.
"""

from __future__ import annotations

import datetime
from typing import Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas.base import ActionBaseModel, APIBaseModel, ObjectBaseModel
from shared.schemas.types import DateTime, Name, NonNegativeInteger

TAG_PREFIX = "tag:"
DEPLOYMENT_PREFIX = "deployment:"

# The reference's defaults (settings.server.*): how long a denied caller is told to wait.
TAG_CONCURRENCY_SLOT_WAIT_SECONDS = 10.0
MAXIMUM_CONCURRENCY_SLOT_WAIT_SECONDS = 30.0
DEPLOYMENT_CONCURRENCY_SLOT_WAIT_SECONDS = 30.0
# Lease a deployment run holds from PENDING until its engine starts renewing it.
INITIAL_DEPLOYMENT_LEASE_SECONDS = 300.0
# v1 clients cannot renew: their leases last ~100 years (the reference's V1_LEASE_TTL).
V1_LEASE_SECONDS = 100 * 365 * 24 * 3600.0
# Weighted average over `limit * 2` samples, floored (the reference's constants).
OCCUPANCY_SAMPLES_MULTIPLIER = 2
MINIMUM_OCCUPANCY_SECONDS_PER_SLOT = 0.1


def tag_limit_name(tag: str) -> str:
    return f"{TAG_PREFIX}{tag}"


def deployment_limit_name(deployment_id: UUID) -> str:
    return f"{DEPLOYMENT_PREFIX}{deployment_id}"


class ConcurrencyLimitV2(ObjectBaseModel):
    """A global concurrency limit (the reference's core.ConcurrencyLimitV2)."""

    active: bool = Field(default=True, description="Whether the concurrency limit is active.")
    name: Name = Field(default=..., description="The name of the concurrency limit.")
    limit: NonNegativeInteger = Field(default=..., description="The concurrency limit.")
    active_slots: NonNegativeInteger = Field(default=0, description="The number of active slots.")
    denied_slots: NonNegativeInteger = Field(default=0, description="The number of denied slots.")
    slot_decay_per_second: float = Field(
        default=0, ge=0, description="The decay rate for active slots when used as a rate limit."
    )
    avg_slot_occupancy_seconds: float = Field(default=2.0, description="The average amount of time a slot is occupied.")


class GlobalConcurrencyLimitResponse(ObjectBaseModel):
    """What GET/filter return: active_slots after decay, no denied/occupancy figures."""

    active: bool = Field(default=True, description="Whether the global concurrency limit is active.")
    name: str = Field(default=..., description="The name of the global concurrency limit.")
    limit: int = Field(default=..., description="The concurrency limit.")
    active_slots: int = Field(default=..., description="The number of active slots.")
    slot_decay_per_second: float = Field(
        default=2.0, description="The decay rate for active slots when used as a rate limit."
    )


class ConcurrencyLimitV2Create(ActionBaseModel):
    active: bool = Field(default=True, description="Whether the concurrency limit is active.")
    name: Name = Field(default=..., description="The name of the concurrency limit.")
    limit: NonNegativeInteger = Field(default=..., description="The concurrency limit.")
    active_slots: NonNegativeInteger = Field(default=0, description="The number of active slots.")
    denied_slots: NonNegativeInteger = Field(default=0, description="The number of denied slots.")
    slot_decay_per_second: float = Field(
        default=0, ge=0, description="The decay rate for active slots when used as a rate limit."
    )


class ConcurrencyLimitV2Update(ActionBaseModel):
    active: bool | None = None
    name: Name | None = None
    limit: NonNegativeInteger | None = None
    active_slots: NonNegativeInteger | None = None
    denied_slots: NonNegativeInteger | None = None
    slot_decay_per_second: float | None = Field(default=None, ge=0)


class MinimalConcurrencyLimitResponse(APIBaseModel):
    id: UUID
    name: str
    limit: int


class ConcurrencyLimitWithLeaseResponse(APIBaseModel):
    lease_id: UUID
    limits: list[MinimalConcurrencyLimitResponse]


class ConcurrencyLeaseHolder(BaseModel):
    """Who holds a lease (the reference forbids other fields here)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["flow_run", "task_run", "deployment"]
    id: UUID


class ConcurrencyLease(APIBaseModel):
    """Slots held on one or more limits until `expiration` (renewed by the holder)."""

    id: UUID = Field(default_factory=uuid4)
    resource_ids: list[UUID]
    slots: int
    holder: ConcurrencyLeaseHolder | None = None
    created: DateTime
    expiration: DateTime

    def occupancy_seconds(self, now: datetime.datetime) -> float:
        return max((now - self.created).total_seconds(), 0.0)


# --- v1 (tag) limits: a view of the `tag:<tag>` v2 limits ------------------------------


class ConcurrencyLimit(ObjectBaseModel):
    tag: str = Field(default=..., description="A tag the concurrency limit is applied to.")
    concurrency_limit: int = Field(default=..., description="The concurrency limit.")
    active_slots: list[UUID] = Field(
        default_factory=list, description="A list of active run ids using a concurrency slot"
    )


class ConcurrencyLimitCreate(ActionBaseModel):
    tag: str = Field(default=..., description="A tag the concurrency limit is applied to.")
    # The reference declares a plain int, and a negative limit would store a limit that
    # can never be acquired nor read back as a v2 limit: refused here (422).
    concurrency_limit: NonNegativeInteger = Field(default=..., description="The concurrency limit.")
