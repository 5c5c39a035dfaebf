"""Deployments: the stored/returned object, create/update payloads, run-from-deployment.

Field names and defaults follow Prefect 3.9.1 (`DeploymentResponse`,
`DeploymentCreate`, `DeploymentUpdate`, `DeploymentFlowRunCreate`). Filter bodies
(`DeploymentFilterRequest`...) live in `shared.schemas.filters`.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.schemas._jsonschema_tools import SchemaValidationError, check_schema, validate_value
from shared.schemas.base import ActionBaseModel, APIBaseModel, ObjectBaseModel
from shared.schemas.common import CreatedBy, UpdatedBy
from shared.schemas.flow_runs import FlowRunPolicy
from shared.schemas.schedules import DeploymentSchedule, DeploymentScheduleCreate, DeploymentScheduleUpdate
from shared.schemas.states import StateCreate
from shared.schemas.types import (
    DateTime,
    KeyValueLabels,
    NameOrEmpty,
    PositiveInteger,
    RunName,
    SizedParameters,
    generate_run_name,
)


class DeploymentStatus(str, enum.Enum):
    READY = "READY"
    NOT_READY = "NOT_READY"


class ConcurrencyLimitStrategy(str, enum.Enum):
    """What happens to a run that finds the deployment's concurrency limit full."""

    ENQUEUE = "ENQUEUE"
    CANCEL_NEW = "CANCEL_NEW"


class ConcurrencyOptions(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(defer_build=True)  # built on first use (cold start)
    collision_strategy: ConcurrencyLimitStrategy
    grace_period_seconds: int | None = Field(default=None, ge=60, le=86400)


class VersionInfo(BaseModel, extra="allow"):
    type: str
    version: str


# Fields older clients still send; the reference drops them silently instead of a 422.
_RETIRED_FIELDS = ("worker_pool_queue_id", "worker_pool_name", "worker_pool_queue_name", "work_pool_queue_name")


def _drop_retired_fields(values: Any) -> Any:
    if isinstance(values, dict):
        return {k: v for k, v in values.items() if k not in _RETIRED_FIELDS}
    return values


def _reject_two_concurrency_limits(values: Any) -> Any:
    if isinstance(values, dict) and values.get("concurrency_limit") and values.get("global_concurrency_limit_id"):
        raise ValueError("A deployment cannot have both a concurrency limit and a global concurrency limit.")
    return values


def _check_parameters_against_schema(values: Any) -> Any:
    # Only when the body itself asks for enforcement, exactly as the reference's
    # "before" validator (the default True does not trigger it).
    if not isinstance(values, dict) or not values.get("enforce_parameter_schema"):
        return values
    schema = values.get("parameter_openapi_schema")
    parameters = values.get("parameters")
    if schema is not None:
        try:
            check_schema(schema)
        except SchemaValidationError as exc:
            raise ValueError(f"The provided schema is not a valid json schema. Schema error: {exc}") from exc
        if parameters is not None:
            validate_value(parameters, schema, ignore_required=True)
    return values


class Deployment(ObjectBaseModel):
    """A deployment as returned by the API (the reference's DeploymentResponse)."""

    name: NameOrEmpty
    version: str | None = None
    description: str | None = None
    flow_id: UUID
    paused: bool = False
    schedules: list[DeploymentSchedule] = Field(default_factory=list)
    # Deprecated in the reference: always None in responses; the limit is
    # `global_concurrency_limit` (a GlobalConcurrencyLimitResponse object).
    concurrency_limit: int | None = None
    global_concurrency_limit: dict[str, Any] | None = None
    concurrency_options: ConcurrencyOptions | None = None
    job_variables: dict[str, Any] = Field(default_factory=dict)
    parameters: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    labels: KeyValueLabels = Field(default_factory=dict)
    work_queue_name: str | None = None
    work_queue_id: UUID | None = None
    last_polled: DateTime | None = None
    parameter_openapi_schema: dict[str, Any] | None = None
    path: str | None = None
    pull_steps: list[dict[str, Any]] | None = None
    entrypoint: str | None = None
    storage_document_id: UUID | None = None
    infrastructure_document_id: UUID | None = None
    created_by: CreatedBy | None = None
    updated_by: UpdatedBy | None = None
    work_pool_name: str | None = None
    status: DeploymentStatus | None = DeploymentStatus.NOT_READY
    enforce_parameter_schema: bool = True


# The reference's response class name, for readers coming from it.
DeploymentResponse = Deployment


class DeploymentCreate(ActionBaseModel):
    """Body of POST /deployments/ (an upsert on flow_id + name)."""

    name: str
    flow_id: UUID
    paused: bool = False
    schedules: list[DeploymentScheduleCreate] = Field(default_factory=list)
    concurrency_limit: PositiveInteger | None = None
    concurrency_options: ConcurrencyOptions | None = None
    global_concurrency_limit_id: UUID | None = None
    enforce_parameter_schema: bool = True
    parameter_openapi_schema: dict[str, Any] | None = Field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    parameters: SizedParameters = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    labels: KeyValueLabels | None = Field(default_factory=dict)
    pull_steps: list[dict[str, Any]] | None = None
    work_queue_name: str | None = None
    work_pool_name: str | None = None
    storage_document_id: UUID | None = None
    infrastructure_document_id: UUID | None = None
    description: str | None = None
    path: str | None = None
    version: str | None = None
    entrypoint: str | None = None
    job_variables: dict[str, Any] = Field(default_factory=dict)
    version_info: VersionInfo | None = None

    @model_validator(mode="before")
    @classmethod
    def _before(cls, values: Any) -> Any:
        values = _drop_retired_fields(values)
        values = _check_parameters_against_schema(values)
        return _reject_two_concurrency_limits(values)


class DeploymentUpdate(ActionBaseModel):
    """Body of PATCH /deployments/{id}; routers apply only the fields that were set."""

    version: str | None = None
    description: str | None = None
    paused: bool = False
    schedules: list[DeploymentScheduleUpdate] = Field(default_factory=list)
    concurrency_limit: PositiveInteger | None = None
    concurrency_options: ConcurrencyOptions | None = None
    global_concurrency_limit_id: UUID | None = None
    parameters: SizedParameters | None = None
    parameter_openapi_schema: dict[str, Any] | None = None
    tags: list[str] = Field(default_factory=list)
    work_queue_name: str | None = None
    work_pool_name: str | None = None
    path: str | None = None
    job_variables: dict[str, Any] | None = None
    pull_steps: list[dict[str, Any]] | None = None
    entrypoint: str | None = None
    storage_document_id: UUID | None = None
    infrastructure_document_id: UUID | None = None
    enforce_parameter_schema: bool | None = None
    version_info: VersionInfo | None = None

    @model_validator(mode="before")
    @classmethod
    def _before(cls, values: Any) -> Any:
        return _reject_two_concurrency_limits(_drop_retired_fields(values))


class DeploymentFlowRunCreate(ActionBaseModel):
    """Body of POST /deployments/{id}/create_flow_run."""

    state: StateCreate | None = None
    name: RunName = Field(default_factory=generate_run_name)
    parameters: SizedParameters = Field(default_factory=dict)
    enforce_parameter_schema: bool | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    infrastructure_document_id: UUID | None = None
    empirical_policy: FlowRunPolicy = Field(default_factory=FlowRunPolicy)
    tags: list[str] = Field(default_factory=list)
    idempotency_key: str | None = None
    labels: KeyValueLabels | None = None
    parent_task_run_id: UUID | None = None
    work_queue_name: str | None = None
    job_variables: dict[str, Any] | None = Field(default_factory=dict)


class DeploymentPaginationResponse(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(defer_build=True)  # built on first use (cold start)
    results: list[Deployment]
    count: int
    limit: int
    pages: int
    page: int


class DeploymentBulkDeleteResponse(APIBaseModel):
    deleted: list[UUID] = Field(default_factory=list)


__all__ = [
    "ConcurrencyLimitStrategy",
    "ConcurrencyOptions",
    "Deployment",
    "DeploymentBulkDeleteResponse",
    "DeploymentCreate",
    "DeploymentFlowRunCreate",
    "DeploymentPaginationResponse",
    "DeploymentResponse",
    "DeploymentStatus",
    "DeploymentUpdate",
    "VersionInfo",
]
