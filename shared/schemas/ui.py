"""Payloads of the routes only Prefect's UI reads (`/ui-settings`, `/ui/...`), as in prefect 3.9.1."""

from __future__ import annotations

import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from shared.schemas.base import APIBaseModel
from shared.schemas.states import StateType
from shared.schemas.task_runs import TaskRun
from shared.schemas.types import DateTime

UIVersion = Literal["v1", "v2"]


class UISettings(APIBaseModel):
    """Runtime UI configuration returned by /ui-settings."""

    api_url: str = Field(description="The base URL for API requests.")
    csrf_enabled: bool = Field(description="Whether CSRF protection is enabled.")
    auth: str | None = Field(description="Authentication method (e.g., 'BASIC') or null if disabled.")
    flags: list[str] = Field(default_factory=list, description="List of enabled feature flags.")
    default_ui: UIVersion = Field(
        description="The UI neutral entry points open when the browser has no saved preference."
    )
    available_uis: list[UIVersion] = Field(default_factory=list, description="UI bundles available on this server.")
    v1_base_url: str | None = Field(default=None, description="The base URL of the V1 UI, or null when unavailable.")
    v2_base_url: str | None = Field(default=None, description="The base URL of the V2 UI, or null when unavailable.")


class UITaskRun(TaskRun):
    """A task run with the name of its flow run, for display in the UI."""

    flow_run_name: str | None = None


class SimpleFlowRun(APIBaseModel):
    id: UUID = Field(description="The flow run id.")
    state_type: StateType = Field(description="The state type.")
    timestamp: DateTime = Field(
        description="The start time of the run, or the expected start time if it hasn't run yet."
    )
    duration: datetime.timedelta = Field(description="The total run time of the run.")
    lateness: datetime.timedelta = Field(description="The delay between the expected and actual start time.")


class SimpleNextFlowRun(APIBaseModel):
    id: UUID = Field(description="The flow run id.")
    flow_id: UUID = Field(description="The flow id.")
    name: str = Field(description="The flow run name")
    state_name: str = Field(description="The state name.")
    state_type: StateType = Field(description="The state type.")
    next_scheduled_start_time: DateTime = Field(description="The next scheduled start time")


class TaskRunCount(APIBaseModel):
    completed: int = Field(description="The number of completed task runs.")
    failed: int = Field(description="The number of failed task runs.")


class CountByState(APIBaseModel):
    """Runs per state type; every type is present (0 when none)."""

    COMPLETED: int = 0
    PENDING: int = 0
    RUNNING: int = 0
    FAILED: int = 0
    CANCELLED: int = 0
    CRASHED: int = 0
    PAUSED: int = 0
    CANCELLING: int = 0
    SCHEDULED: int = 0


class SchemaValueError(BaseModel):
    """One validation error, shaped like the reference's `build_error_obj`."""

    model_config = {"extra": "allow"}


class SchemaValuesValidationResponse(BaseModel):
    errors: list[Any]
    valid: bool
