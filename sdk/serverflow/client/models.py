"""Typed views of the API's responses. Our own models (the SDK never imports prefect or shared/).

They ignore unknown fields so a newer server can add fields without breaking older SDKs, and they keep only
what the SDK and CLI use plus the identifying fields, with lenient defaults.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class APIModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class StateModel(APIModel):
    id: UUID | None = None
    type: str
    name: str | None = None
    timestamp: datetime | None = None
    message: str | None = None
    state_details: dict[str, Any] = Field(default_factory=dict)
    data: Any = None


class Flow(APIModel):
    id: UUID
    name: str
    created: datetime | None = None
    tags: list[str] = Field(default_factory=list)


class FlowRunPolicy(APIModel):
    retries: int | None = None
    retry_delay: int | None = None


class FlowRun(APIModel):
    id: UUID
    name: str
    flow_id: UUID
    created: datetime | None = None
    state_id: UUID | None = None
    deployment_id: UUID | None = None
    work_queue_name: str | None = None
    work_pool_name: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    labels: dict[str, Any] = Field(default_factory=dict)
    parent_task_run_id: UUID | None = None
    run_count: int = 0
    expected_start_time: datetime | None = None
    next_scheduled_start_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    total_run_time: timedelta | None = None
    empirical_policy: FlowRunPolicy = Field(default_factory=FlowRunPolicy)
    state_type: str | None = None
    state_name: str | None = None
    state: StateModel | None = None
    infrastructure_pid: str | None = None


class TaskRun(APIModel):
    id: UUID
    name: str
    flow_run_id: UUID | None = None
    task_key: str
    dynamic_key: str
    tags: list[str] = Field(default_factory=list)
    run_count: int = 0
    flow_run_run_count: int = 0
    start_time: datetime | None = None
    end_time: datetime | None = None
    state_type: str | None = None
    state_name: str | None = None
    state: StateModel | None = None
    task_inputs: dict[str, Any] = Field(default_factory=dict)


class OrchestrationResult(APIModel):
    """Answer of ``set_state``: the server's state plus ACCEPT / REJECT / WAIT / ABORT and its details."""

    state: StateModel | None = None
    status: Literal["ACCEPT", "REJECT", "ABORT", "WAIT"]
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def delay_seconds(self) -> float:
        return float(self.details.get("delay_seconds") or 0)

    @property
    def reason(self) -> str | None:
        reason = self.details.get("reason")
        return str(reason) if reason is not None else None


class Deployment(APIModel):
    id: UUID
    name: str
    flow_id: UUID
    parameters: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    work_pool_name: str | None = None
    work_queue_name: str | None = None
    paused: bool = False
    status: str | None = None
    version: str | None = None
    entrypoint: str | None = None


class WorkPool(APIModel):
    id: UUID | None = None
    name: str
    type: str
    description: str | None = None
    is_paused: bool = False
    concurrency_limit: int | None = None
    status: str | None = None
    default_queue_id: UUID | None = None
    base_job_template: dict[str, Any] = Field(default_factory=dict)


class WorkQueue(APIModel):
    id: UUID
    name: str
    work_pool_name: str | None = None
    priority: int | None = None
    is_paused: bool = False


class LogEntry(APIModel):
    id: UUID | None = None
    name: str
    level: int
    message: str
    timestamp: datetime
    flow_run_id: UUID | None = None
    task_run_id: UUID | None = None


class Artifact(APIModel):
    id: UUID
    key: str | None = None
    type: str | None = None
    description: str | None = None
    data: Any = None
    flow_run_id: UUID | None = None
    task_run_id: UUID | None = None
