"""Who holds a work pool's / work queue's concurrency slots (Prefect 3.9.1 responses of
`POST /work_pools/{name}/concurrency_status` and `POST /work_queues/{id}/concurrency_status`)."""

from __future__ import annotations

import datetime
from uuid import UUID

from pydantic import Field

from shared.schemas.base import APIBaseModel
from shared.schemas.flow_runs import FlowRun
from shared.schemas.states import StateType
from shared.schemas.types import DateTime


class FlowRunSlotSummary(APIBaseModel):
    """A flow run occupying a concurrency slot."""

    id: UUID
    name: str
    state_type: StateType | None = None
    state_name: str | None = None
    start_time: DateTime | None = None
    state_timestamp: DateTime | None = None
    time_in_current_state: datetime.timedelta | None = None

    @classmethod
    def of(cls, run: FlowRun, now: datetime.datetime) -> FlowRunSlotSummary:
        stamp = run.state.timestamp if run.state is not None else None
        return cls(
            id=run.id,
            name=run.name,
            state_type=run.state_type,
            state_name=run.state_name,
            start_time=run.start_time,
            state_timestamp=stamp,
            time_in_current_state=(now - stamp) if stamp is not None else None,
        )


class WorkQueueConcurrencyStatusDetail(APIBaseModel):
    queue_id: UUID
    queue_name: str
    active_slots: int
    concurrency_limit: int | None = None
    flow_runs: list[FlowRunSlotSummary] = Field(default_factory=list)
    flow_run_count: int | None = Field(
        None, description="Total flow run count for this queue (may exceed len(flow_runs))."
    )


class WorkPoolConcurrencyStatus(APIBaseModel):
    active_slots: int
    concurrency_limit: int | None = None
    queues: list[WorkQueueConcurrencyStatusDetail] = Field(default_factory=list)
    count: int = Field(description="Total number of queues.")
    limit: int = Field(description="Page size.")
    pages: int = Field(description="Total number of pages.")
    page: int = Field(description="Current page number (1-indexed).")


class WorkQueueConcurrencyStatus(APIBaseModel):
    active_slots: int
    concurrency_limit: int | None = None
    flow_runs: list[FlowRunSlotSummary] = Field(default_factory=list)
    count: int = Field(description="Total number of slot-holding flow runs.")
    limit: int = Field(description="Page size.")
    pages: int = Field(description="Total number of pages.")
    page: int = Field(description="Current page number (1-indexed).")


__all__ = [
    "FlowRunSlotSummary",
    "WorkPoolConcurrencyStatus",
    "WorkQueueConcurrencyStatus",
    "WorkQueueConcurrencyStatusDetail",
]
