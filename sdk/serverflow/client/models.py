"""Typed views of the API's responses. Our own models (the SDK never imports prefect or shared/).

They ignore unknown fields so a newer server can add fields without breaking older SDKs, and they keep only
what the SDK and CLI use plus the identifying fields, with lenient defaults.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal, Optional
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class APIModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class StateModel(APIModel):
    id: Optional[UUID] = None
    type: str
    name: Optional[str] = None
    timestamp: Optional[datetime] = None
    message: Optional[str] = None
    state_details: dict[str, Any] = Field(default_factory=dict)
    data: Any = None


class Flow(APIModel):
    id: UUID
    name: str
    created: Optional[datetime] = None
    tags: list[str] = Field(default_factory=list)


class FlowRunPolicy(APIModel):
    retries: Optional[int] = None
    retry_delay: Optional[int] = None


class FlowRun(APIModel):
    id: UUID
    name: str
    flow_id: UUID
    created: Optional[datetime] = None
    state_id: Optional[UUID] = None
    deployment_id: Optional[UUID] = None
    work_queue_name: Optional[str] = None
    work_pool_name: Optional[str] = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    labels: dict[str, Any] = Field(default_factory=dict)
    parent_task_run_id: Optional[UUID] = None
    run_count: int = 0
    expected_start_time: Optional[datetime] = None
    next_scheduled_start_time: Optional[datetime] = None
    start_time: Optional[datetime] = None
    end_time: Optional[datetime] = None
    total_run_time: Optional[timedelta] = None
    empirical_policy: FlowRunPolicy = Field(default_factory=FlowRunPolicy)
    state_type: Optional[str] = None
    state_name: Optional[str] = None
    state: Optional[StateModel] = None
    infrastructure_pid: Optional[str] = None


class TaskRun(APIModel):
    id: UUID
    name: str
    flow_run_id: Optional[UUID] = None
    task_key: str
    dynamic_key: str
    tags: list[str] = Field(default_factory=list)
    run_count: int = 0
    flow_run_run_count: int = 0
    start_time: Optional[datetime] = None
    end_time: Optional[datetime] = None
    state_type: Optional[str] = None
    state_name: Optional[str] = None
    state: Optional[StateModel] = None
    task_inputs: dict[str, Any] = Field(default_factory=dict)


class OrchestrationResult(APIModel):
    """Answer of ``set_state``: the server's state plus ACCEPT / REJECT / WAIT / ABORT and its details."""

    state: Optional[StateModel] = None
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
    work_pool_name: Optional[str] = None
    work_queue_name: Optional[str] = None
    paused: bool = False
    status: Optional[str] = None
    version: Optional[str] = None
    entrypoint: Optional[str] = None


class WorkPool(APIModel):
    id: Optional[UUID] = None
    name: str
    type: str
    description: Optional[str] = None
    is_paused: bool = False
    concurrency_limit: Optional[int] = None
    status: Optional[str] = None
    default_queue_id: Optional[UUID] = None
    base_job_template: dict[str, Any] = Field(default_factory=dict)


class WorkQueue(APIModel):
    id: UUID
    name: str
    work_pool_name: Optional[str] = None
    priority: Optional[int] = None
    is_paused: bool = False


class LogEntry(APIModel):
    id: Optional[UUID] = None
    name: str
    level: int
    message: str
    timestamp: datetime
    flow_run_id: Optional[UUID] = None
    task_run_id: Optional[UUID] = None


class Artifact(APIModel):
    id: UUID
    key: Optional[str] = None
    type: Optional[str] = None
    description: Optional[str] = None
    data: Any = None
    flow_run_id: Optional[UUID] = None
    task_run_id: Optional[UUID] = None
