"""Task runs: the stored/returned object, retry policy, input provenance, payloads.

In 3.9.1 most task runs arrive as events (prefect.task-run.*) rather than via REST;
the event payload's "task_run" is validated with TaskRun too, so it must accept
exactly what the client's TaskRun serialises to.
"""

from __future__ import annotations

import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.schemas.base import ActionBaseModel, APIBaseModel, ObjectBaseModel
from shared.schemas.flow_runs import _carry_deprecated_retry_fields
from shared.schemas.states import State, StateCreate, StateType
from shared.schemas.types import (
    DateTime,
    KeyValueLabels,
    check_cache_key_length,
    generate_run_name,
    run_name_or_generated,
    uuid7,
)

MAX_RETRY_DELAYS = 50  # the reference caps a retry_delay list at 50 entries


class TaskRunPolicy(APIBaseModel):
    """How a task run retries (TaskRun.empirical_policy)."""

    max_retries: int = 0  # deprecated: use retries
    retry_delay_seconds: float = 0  # deprecated: use retry_delay
    retries: int | None = None
    retry_delay: int | float | list[int] | list[float] | None = None
    retry_jitter_factor: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _deprecated_fields(cls, values: Any) -> Any:
        return _carry_deprecated_retry_fields(values)

    @field_validator("retry_delay")
    @classmethod
    def _at_most_50_delays(cls, value: Any) -> Any:
        if isinstance(value, list) and len(value) > MAX_RETRY_DELAYS:
            raise ValueError("Can not configure more than 50 retry delays per task.")
        return value

    @field_validator("retry_jitter_factor")
    @classmethod
    def _jitter_not_negative(cls, value: float | None) -> float | None:
        if value is not None and value < 0:
            raise ValueError("`retry_jitter_factor` must be >= 0.")
        return value


class RunInput(APIBaseModel):
    """Where one input of a task run came from; frozen so inputs can be set members."""

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="ignore", frozen=True, ser_json_timedelta="float")

    input_type: str


class TaskRunResult(RunInput):
    """The input is the result of another task run."""

    input_type: Literal["task_run"] = "task_run"
    id: UUID


class FlowRunResult(RunInput):
    """The input is the result of a (sub)flow run."""

    input_type: Literal["flow_run"] = "flow_run"
    id: UUID


class Parameter(RunInput):
    """The input is one of the flow run's parameters."""

    input_type: Literal["parameter"] = "parameter"
    name: str


class Constant(RunInput):
    """The input is a literal value of the given type."""

    input_type: Literal["constant"] = "constant"
    type: str


# Plain (left-to-right smart) union, as the reference: the client may omit input_type
# on old payloads, so a discriminated union would reject them.
TaskRunInput = TaskRunResult | FlowRunResult | Parameter | Constant
TaskInputs = dict[str, list[TaskRunInput]]


class TaskRun(ObjectBaseModel):
    """A task run as returned by the API."""

    id: UUID = Field(default_factory=uuid7)
    name: str = Field(default_factory=generate_run_name)
    flow_run_id: UUID | None = None
    task_key: str
    dynamic_key: str
    cache_key: str | None = None
    cache_expiration: DateTime | None = None
    task_version: str | None = None
    empirical_policy: TaskRunPolicy = Field(default_factory=TaskRunPolicy)
    tags: list[str] = Field(default_factory=list)
    labels: KeyValueLabels | None = Field(default_factory=dict)
    state_id: UUID | None = None
    task_inputs: TaskInputs = Field(default_factory=dict)
    state_type: StateType | None = None
    state_name: str | None = None
    run_count: int = 0
    flow_run_run_count: int = 0
    expected_start_time: DateTime | None = None
    next_scheduled_start_time: DateTime | None = None
    start_time: DateTime | None = None
    end_time: DateTime | None = None
    total_run_time: datetime.timedelta = datetime.timedelta(0)
    estimated_run_time: datetime.timedelta = datetime.timedelta(0)
    estimated_start_time_delta: datetime.timedelta = datetime.timedelta(0)
    state: State | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _default_name(cls, value: Any) -> Any:
        return run_name_or_generated(value)

    @field_validator("cache_key")
    @classmethod
    def _cache_key_length(cls, value: str | None) -> str | None:
        return check_cache_key_length(value)


class TaskRunCreate(ActionBaseModel):
    """Body of POST /task_runs/ (idempotent on (flow_run_id, task_key, dynamic_key))."""

    # The client may choose the id so events and REST agree on it.
    id: UUID | None = None
    state: StateCreate | None = None
    name: str = Field(default_factory=generate_run_name)
    flow_run_id: UUID | None = None
    task_key: str
    dynamic_key: str
    cache_key: str | None = None
    cache_expiration: DateTime | None = None
    task_version: str | None = None
    empirical_policy: TaskRunPolicy = Field(default_factory=TaskRunPolicy)
    tags: list[str] = Field(default_factory=list)
    labels: KeyValueLabels | None = Field(default_factory=dict)
    task_inputs: TaskInputs = Field(default_factory=dict)

    @field_validator("name", mode="before")
    @classmethod
    def _default_name(cls, value: Any) -> Any:
        return run_name_or_generated(value)

    @field_validator("cache_key")
    @classmethod
    def _cache_key_length(cls, value: str | None) -> str | None:
        return check_cache_key_length(value)


class TaskRunUpdate(ActionBaseModel):
    """Body of PATCH /task_runs/{id}: only the name may change."""

    name: str = Field(default_factory=generate_run_name)

    @field_validator("name", mode="before")
    @classmethod
    def _default_name(cls, value: Any) -> Any:
        return run_name_or_generated(value)


class TaskRunPaginationResponse(BaseModel):
    """Response of POST /task_runs/paginate."""

    model_config: ClassVar[ConfigDict] = ConfigDict(defer_build=True)  # built on first use (cold start)
    results: list[TaskRun]
    count: int
    limit: int
    pages: int
    page: int


__all__ = [
    "Constant",
    "FlowRunResult",
    "Parameter",
    "RunInput",
    "TaskInputs",
    "TaskRun",
    "TaskRunCreate",
    "TaskRunInput",
    "TaskRunPaginationResponse",
    "TaskRunPolicy",
    "TaskRunResult",
    "TaskRunUpdate",
]
