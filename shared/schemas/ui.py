"""Payloads of the `/ui/...` routes only Prefect's UI reads, as in prefect 3.9.1 (`/ui-settings` has its own
module, shared.schemas.ui_settings: its Lambda needs no run schema)."""

from __future__ import annotations

import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from shared.schemas.base import APIBaseModel
from shared.schemas.states import StateType
from shared.schemas.task_runs import TaskRun
from shared.schemas.types import DateTime


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
