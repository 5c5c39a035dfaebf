"""Work pools, work queues and workers: stored/returned objects and payloads.

Field names and defaults follow Prefect 3.9.1 (`WorkPool`/`WorkPoolResponse`,
`WorkQueueResponse`, `WorkerResponse`, the actions, and the worker endpoints'
bodies). Filter models live in `shared.schemas.filters`.
"""

from __future__ import annotations

import datetime
import enum
import json
import re
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.schemas.base import ActionBaseModel, APIBaseModel, ObjectBaseModel
from shared.schemas.flow_runs import FlowRun
from shared.schemas.types import DateTime, Name, NonEmptyishName, NonNegativeInteger, PositiveInteger, now_utc

# --- statuses ------------------------------------------------------------------


class WorkPoolStatus(str, enum.Enum):
    READY = "READY"
    NOT_READY = "NOT_READY"
    PAUSED = "PAUSED"


class WorkQueueStatus(str, enum.Enum):
    READY = "READY"
    NOT_READY = "NOT_READY"
    PAUSED = "PAUSED"


class WorkerStatus(str, enum.Enum):
    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"


# --- base job template -----------------------------------------------------------

_PLACEHOLDER = re.compile(r"{{\s*([\w\.\-\[\]$]+)\s*}}")


def check_base_job_template(template: dict[str, Any] | None) -> dict[str, Any] | None:
    """A template needs both parts, and every {{ var }} must be declared in `variables`."""
    if not template:
        return template
    job_configuration = template.get("job_configuration")
    variables = template.get("variables")
    if not (job_configuration and variables):
        raise ValueError("The `base_job_template` must contain both a `job_configuration` key and a `variables` key.")
    used = {name for value in job_configuration.values() for name in _PLACEHOLDER.findall(json.dumps(value))}
    missing = used - set((variables.get("properties") or {}).keys())
    if missing:
        raise ValueError(
            "The variables specified in the job configuration template must be present as properties in the "
            "variables schema. Your job configuration uses the following undeclared variable(s): "
            f"{', '.join(sorted(missing))}."
        )
    return template


# --- work pools ------------------------------------------------------------------


class WorkPoolStorageConfiguration(APIBaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    bundle_upload_step: dict[str, Any] | None = None
    bundle_execution_step: dict[str, Any] | None = None
    default_result_storage_block_id: UUID | None = None


class WorkPool(ObjectBaseModel):
    """A work pool as returned by the API (the reference's WorkPoolResponse)."""

    name: NonEmptyishName
    description: str | None = None
    type: str
    base_job_template: dict[str, Any] = Field(default_factory=dict)
    is_paused: bool = False
    concurrency_limit: NonNegativeInteger | None = None
    # None for the legacy "prefect-agent" type, as in the reference.
    status: WorkPoolStatus | None = None
    default_queue_id: UUID | None = None
    storage_configuration: WorkPoolStorageConfiguration = Field(default_factory=WorkPoolStorageConfiguration)
    # Slots held by Pending/Running runs; None when there is no concurrency limit.
    active_slots: int | None = None


WorkPoolResponse = WorkPool


class WorkPoolCreate(ActionBaseModel):
    name: NonEmptyishName
    description: str | None = None
    type: str = "prefect-agent"
    base_job_template: dict[str, Any] = Field(default_factory=dict)
    is_paused: bool = False
    concurrency_limit: NonNegativeInteger | None = None
    storage_configuration: WorkPoolStorageConfiguration = Field(default_factory=WorkPoolStorageConfiguration)

    _template = field_validator("base_job_template")(check_base_job_template)


class WorkPoolUpdate(ActionBaseModel):
    description: str | None = None
    is_paused: bool | None = None
    base_job_template: dict[str, Any] | None = None
    concurrency_limit: NonNegativeInteger | None = None
    storage_configuration: WorkPoolStorageConfiguration | None = None

    _template = field_validator("base_job_template")(check_base_job_template)


# --- work queues -----------------------------------------------------------------


class QueueFilter(APIBaseModel):
    """DEPRECATED queue filter (tags / deployment ids), still accepted and returned."""

    tags: list[str] | None = None
    deployment_ids: list[UUID] | None = None


class WorkQueue(ObjectBaseModel):
    """A work queue as returned by the API (the reference's WorkQueueResponse)."""

    name: Name
    description: str | None = ""
    is_paused: bool = False
    concurrency_limit: NonNegativeInteger | None = None
    # Lower is more important; 1 is the highest priority.
    priority: PositiveInteger = 1
    work_pool_id: UUID | None = None
    filter: QueueFilter | None = None
    last_polled: DateTime | None = None
    work_pool_name: str | None = None
    status: WorkQueueStatus | None = None
    active_slots: int | None = None


WorkQueueResponse = WorkQueue


class WorkQueueCreate(ActionBaseModel):
    name: Name
    description: str | None = ""
    is_paused: bool = False
    concurrency_limit: NonNegativeInteger | None = None
    priority: PositiveInteger | None = None
    filter: QueueFilter | None = None


class WorkQueueUpdate(ActionBaseModel):
    name: str | None = None
    description: str | None = None
    is_paused: bool = False
    concurrency_limit: NonNegativeInteger | None = None
    priority: PositiveInteger | None = None
    last_polled: DateTime | None = None
    filter: QueueFilter | None = None


class WorkQueueHealthPolicy(APIBaseModel):
    maximum_late_runs: int | None = 0
    maximum_seconds_since_last_polled: int | None = 60

    def is_healthy(
        self, late_runs_count: int, last_polled: datetime.datetime | None, now: datetime.datetime | None = None
    ) -> bool:
        """Healthy unless too many late runs or nobody polled recently enough."""
        if self.maximum_late_runs is not None and late_runs_count > self.maximum_late_runs:
            return False
        if self.maximum_seconds_since_last_polled is not None:
            if last_polled is None:
                return False
            elapsed = ((now or now_utc()) - last_polled).total_seconds()
            if elapsed > self.maximum_seconds_since_last_polled:
                return False
        return True


class WorkQueueStatusDetail(APIBaseModel):
    """Body of GET /work_queues/{id}/status."""

    healthy: bool
    late_runs_count: int = 0
    last_polled: DateTime | None = None
    health_check_policy: WorkQueueHealthPolicy


class WorkQueueWithStatus(WorkQueue):
    healthy: bool
    late_runs_count: int = 0
    health_check_policy: WorkQueueHealthPolicy


# --- workers ---------------------------------------------------------------------

DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 30
# A worker is offline after this many missed heartbeats.
INACTIVITY_HEARTBEAT_MULTIPLE = 3


def worker_status(
    last_heartbeat_time: datetime.datetime | None,
    heartbeat_interval_seconds: int | None,
    now: datetime.datetime | None = None,
) -> WorkerStatus:
    if last_heartbeat_time is None:
        return WorkerStatus.OFFLINE
    grace = (heartbeat_interval_seconds or DEFAULT_HEARTBEAT_INTERVAL_SECONDS) * INACTIVITY_HEARTBEAT_MULTIPLE
    horizon = (now or now_utc()) - datetime.timedelta(seconds=grace)
    return WorkerStatus.ONLINE if last_heartbeat_time > horizon else WorkerStatus.OFFLINE


class Worker(ObjectBaseModel):
    """A worker as returned by the API (the reference's WorkerResponse)."""

    name: str
    work_pool_id: UUID
    last_heartbeat_time: DateTime | None = None
    heartbeat_interval_seconds: int | None = None
    status: WorkerStatus = WorkerStatus.OFFLINE


WorkerResponse = Worker


class WorkerHeartbeat(APIBaseModel):
    """Body of POST /work_pools/{name}/workers/heartbeat."""

    name: str
    heartbeat_interval_seconds: int | None = None


class GetScheduledFlowRuns(APIBaseModel):
    """Body of POST /work_pools/{name}/get_scheduled_flow_runs."""

    work_queue_names: list[str] | None = None
    scheduled_before: DateTime | None = None
    scheduled_after: DateTime | None = None
    limit: int | None = None


class WorkerFlowRunResponse(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(defer_build=True)  # built on first use (cold start)
    work_pool_id: UUID
    work_queue_id: UUID
    flow_run: FlowRun


__all__ = [
    "DEFAULT_HEARTBEAT_INTERVAL_SECONDS",
    "INACTIVITY_HEARTBEAT_MULTIPLE",
    "GetScheduledFlowRuns",
    "QueueFilter",
    "WorkPool",
    "WorkPoolCreate",
    "WorkPoolResponse",
    "WorkPoolStatus",
    "WorkPoolStorageConfiguration",
    "WorkPoolUpdate",
    "WorkQueue",
    "WorkQueueCreate",
    "WorkQueueHealthPolicy",
    "WorkQueueResponse",
    "WorkQueueStatus",
    "WorkQueueStatusDetail",
    "WorkQueueUpdate",
    "WorkQueueWithStatus",
    "Worker",
    "WorkerFlowRunResponse",
    "WorkerHeartbeat",
    "WorkerResponse",
    "WorkerStatus",
    "check_base_job_template",
    "worker_status",
]


class WorkPoolDispatchQueue(APIBaseModel):
    """Serverflow's own addition: where a pool's runs are announced, so a worker needs no AWS set-up
    beyond credentials (and none at all on the local stack, whose emulator accepts any)."""

    queue_url: str | None = Field(default=None, description="The pool's SQS queue URL, or null if it has none.")
    region: str = Field(description="The AWS region of the queue.")
    endpoint_url: str | None = Field(
        default=None, description="The SQS endpoint when it is not AWS's regional one (the local emulator, LocalStack)."
    )
    emulated: bool = Field(
        default=False, description="True when the endpoint is an emulator that accepts any credentials."
    )
