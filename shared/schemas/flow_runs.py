"""Flow runs: the stored/returned object, its retry policy, and create/update payloads.

FlowRun carries the denormalised copy of its current state (state_id/type/name,
start/end times, run_count...) so list and filter endpoints never need a second read.
"""

from __future__ import annotations

import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.schemas.base import ActionBaseModel, APIBaseModel, ObjectBaseModel
from shared.schemas.common import CreatedBy
from shared.schemas.states import State, StateCreate, StateType
from shared.schemas.types import (
    DateTime,
    KeyValueLabels,
    RunName,
    SizedParameters,
    generate_run_name,
    run_name_or_generated,
    uuid7,
)


def _carry_deprecated_retry_fields(values: Any) -> Any:
    # An explicit null policy is the default policy: null means default (the reference's validator
    # fails on null here with a 500).
    if values is None:
        return {}
    # Old clients send max_retries / retry_delay_seconds; orchestration reads
    # retries / retry_delay, so copy them across when the new ones are unset.
    if not isinstance(values, dict):
        return values
    if not values.get("retries") and values.get("max_retries", 0) != 0:
        values = {**values, "retries": values["max_retries"]}
    if not values.get("retry_delay") and values.get("retry_delay_seconds", 0) != 0:
        values = {**values, "retry_delay": values["retry_delay_seconds"]}
    return values


class FlowRunPolicy(APIBaseModel):
    """How a flow run retries and pauses (FlowRun.empirical_policy)."""

    max_retries: int = 0  # deprecated: use retries
    retry_delay_seconds: float = 0  # deprecated: use retry_delay
    retries: int | None = None
    retry_delay: int | None = None
    pause_keys: set[str] | None = Field(default_factory=set)
    resuming: bool | None = False
    retry_type: Literal["in_process", "reschedule"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _deprecated_fields(cls, values: Any) -> Any:
        return _carry_deprecated_retry_fields(values)


class FlowRun(ObjectBaseModel):
    """A flow run as returned by the API (the reference's FlowRunResponse)."""

    # Runs use time-ordered ids, as the reference does.
    id: UUID = Field(default_factory=uuid7)
    name: str = Field(default_factory=generate_run_name)
    flow_id: UUID
    state_id: UUID | None = None
    deployment_id: UUID | None = None
    deployment_version: str | None = None
    work_queue_id: UUID | None = None
    work_queue_name: str | None = None
    flow_version: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    empirical_policy: FlowRunPolicy = Field(default_factory=FlowRunPolicy)
    tags: list[str] = Field(default_factory=list)
    labels: KeyValueLabels | None = Field(default_factory=dict)
    parent_task_run_id: UUID | None = None
    state_type: StateType | None = None
    state_name: str | None = None
    run_count: int = 0
    expected_start_time: DateTime | None = None
    next_scheduled_start_time: DateTime | None = None
    start_time: DateTime | None = None
    end_time: DateTime | None = None
    total_run_time: datetime.timedelta = datetime.timedelta(0)
    estimated_run_time: datetime.timedelta = datetime.timedelta(0)
    estimated_start_time_delta: datetime.timedelta = datetime.timedelta(0)
    auto_scheduled: bool = False
    infrastructure_document_id: UUID | None = None
    infrastructure_pid: str | None = None
    created_by: CreatedBy | None = None
    # Denormalised from the work queue so responses need no join.
    work_pool_id: UUID | None = None
    work_pool_name: str | None = None
    state: State | None = None
    job_variables: dict[str, Any] | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _default_name(cls, value: Any) -> Any:
        return run_name_or_generated(value)

    def __eq__(self, other: Any) -> bool:
        # Estimates roll with the clock; two reads of one run must still compare equal.
        if isinstance(other, FlowRun):
            skip = {"estimated_run_time", "estimated_start_time_delta"}
            return self.model_dump(exclude=skip) == other.model_dump(exclude=skip)
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]  # unhashable, as pydantic models that define __eq__ are


class FlowRunCreate(ActionBaseModel):
    """Body of POST /flow_runs/ (idempotent on (flow_id, idempotency_key))."""

    # A new run's state arrives as a StateCreate, never a full State.
    state: StateCreate | None = None
    name: RunName = Field(default_factory=generate_run_name)
    flow_id: UUID
    flow_version: str | None = None
    parameters: SizedParameters = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    parent_task_run_id: UUID | None = None
    infrastructure_document_id: UUID | None = None
    empirical_policy: FlowRunPolicy = Field(default_factory=FlowRunPolicy)
    tags: list[str] = Field(default_factory=list)
    labels: KeyValueLabels | None = Field(default_factory=dict)
    idempotency_key: str | None = None
    work_pool_name: str | None = None
    work_queue_name: str | None = None
    job_variables: dict[str, Any] | None = None
    # Deprecated in the reference but still accepted (the client still sends it).
    deployment_id: UUID | None = None


class FlowRunUpdate(ActionBaseModel):
    """Body of PATCH /flow_runs/{id}."""

    name: str | None = None
    flow_version: str | None = None
    parameters: SizedParameters = Field(default_factory=dict)
    empirical_policy: FlowRunPolicy = Field(default_factory=FlowRunPolicy)
    tags: list[str] = Field(default_factory=list)
    infrastructure_pid: str | None = None
    job_variables: dict[str, Any] | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _default_name(cls, value: Any) -> Any:
        # As the reference: an explicit null/empty name is replaced by a fresh slug.
        return run_name_or_generated(value)


class FlowRunPaginationResponse(BaseModel):
    """Response of POST /flow_runs/paginate."""

    model_config: ClassVar[ConfigDict] = ConfigDict(defer_build=True)  # built on first use (cold start)
    results: list[FlowRun]
    count: int
    limit: int
    pages: int
    page: int


class FlowRunCreateResult(BaseModel):
    """One run's outcome in POST /deployments/{id}/create_flow_run/bulk."""

    flow_run_id: UUID | None = None
    status: Literal["CREATED", "FAILED"]
    error: str | None = None


class FlowRunBulkCreateResponse(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(defer_build=True)  # built on first use (cold start)
    results: list[FlowRunCreateResult] = Field(default_factory=list)


__all__ = [
    "FlowRun",
    "FlowRunBulkCreateResponse",
    "FlowRunCreate",
    "FlowRunCreateResult",
    "FlowRunPaginationResponse",
    "FlowRunPolicy",
    "FlowRunUpdate",
]
