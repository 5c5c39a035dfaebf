"""Request bodies of the POST .../filter, /count and /paginate endpoints.

The reference declares these as several `Body(...)` parameters, so the JSON body
is an object whose keys are the parameter names below; unknown keys are ignored
(FastAPI does not forbid them), while unknown keys *inside* a filter are a 422.
Routers should accept a missing body as "all defaults" (`Model | None = None`).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas.filters.artifacts import ArtifactCollectionFilter, ArtifactFilter
from shared.schemas.filters.deployments import DeploymentFilter, WorkPoolFilter, WorkQueueFilter
from shared.schemas.filters.limits import resolve_limit
from shared.schemas.filters.logs import LogFilter
from shared.schemas.filters.misc import VariableFilter
from shared.schemas.filters.runs import FlowFilter, FlowRunFilter, TaskRunFilter
from shared.schemas.sorting import (
    ArtifactCollectionSort,
    ArtifactSort,
    DeploymentSort,
    FlowRunSort,
    FlowSort,
    LogSort,
    TaskRunSort,
    VariableSort,
)


class _Body(BaseModel):
    # Built on first use: a Lambda serves the bodies of its own domain only (cold start, issue #13).
    model_config: ClassVar[ConfigDict] = ConfigDict(extra="ignore", defer_build=True)

    def effective_limit(self) -> int:
        return resolve_limit(getattr(self, "limit", None))


class _Paged(_Body):
    limit: int | None = None
    offset: int = Field(default=0, ge=0)


class _Pages(_Body):
    limit: int | None = None
    page: int = Field(default=1, ge=1)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.effective_limit()


# --- flows -----------------------------------------------------------------------


class _FlowScope(_Body):
    flows: FlowFilter | None = None
    flow_runs: FlowRunFilter | None = None
    task_runs: TaskRunFilter | None = None
    deployments: DeploymentFilter | None = None
    work_pools: WorkPoolFilter | None = None


class FlowCountRequest(_FlowScope):
    """POST /flows/count."""


class FlowFilterRequest(_FlowScope, _Paged):
    """POST /flows/filter."""

    sort: FlowSort = FlowSort.NAME_ASC


class FlowPaginateRequest(_FlowScope, _Pages):
    """POST /flows/paginate."""

    sort: FlowSort = FlowSort.NAME_ASC


# --- flow runs ---------------------------------------------------------------------


class _FlowRunScope(_FlowScope):
    work_pool_queues: WorkQueueFilter | None = None


class FlowRunCountRequest(_FlowRunScope):
    """POST /flow_runs/count."""


class FlowRunFilterRequest(_FlowRunScope, _Paged):
    """POST /flow_runs/filter."""

    sort: FlowRunSort = FlowRunSort.ID_DESC


class FlowRunPaginateRequest(_FlowRunScope, _Pages):
    """POST /flow_runs/paginate."""

    sort: FlowRunSort = FlowRunSort.ID_DESC


# --- task runs ---------------------------------------------------------------------


class _TaskRunScope(_Body):
    flows: FlowFilter | None = None
    flow_runs: FlowRunFilter | None = None
    task_runs: TaskRunFilter | None = None
    deployments: DeploymentFilter | None = None


class TaskRunCountRequest(_TaskRunScope):
    """POST /task_runs/count."""


class TaskRunFilterRequest(_TaskRunScope, _Paged):
    """POST /task_runs/filter."""

    sort: TaskRunSort = TaskRunSort.ID_DESC


class TaskRunPaginateRequest(_TaskRunScope, _Pages):
    """POST /task_runs/paginate."""

    sort: TaskRunSort = TaskRunSort.ID_DESC


# --- deployments / work pools / queues ----------------------------------------------


class DeploymentCountRequest(_FlowRunScope):
    """POST /deployments/count."""


class DeploymentFilterRequest(_FlowRunScope, _Paged):
    """POST /deployments/filter."""

    sort: DeploymentSort = DeploymentSort.NAME_ASC


class DeploymentPaginateRequest(_FlowRunScope, _Pages):
    """POST /deployments/paginate."""

    sort: DeploymentSort = DeploymentSort.NAME_ASC


class WorkPoolFilterRequest(_Paged):
    """POST /work_pools/filter."""

    work_pools: WorkPoolFilter | None = None


class WorkPoolCountRequest(_Body):
    """POST /work_pools/count."""

    work_pools: WorkPoolFilter | None = None


class WorkQueueFilterRequest(_Paged):
    """POST /work_queues/filter and /work_pools/{name}/queues/filter."""

    work_queues: WorkQueueFilter | None = None


# --- logs / artifacts / variables --------------------------------------------------


class LogFilterRequest(_Paged):
    """POST /logs/filter."""

    logs: LogFilter | None = None
    sort: LogSort = LogSort.TIMESTAMP_ASC


class _ArtifactScope(_Body):
    artifacts: ArtifactFilter | None = None
    flow_runs: FlowRunFilter | None = None
    task_runs: TaskRunFilter | None = None
    flows: FlowFilter | None = None
    deployments: DeploymentFilter | None = None


class ArtifactCountRequest(_ArtifactScope):
    """POST /artifacts/count."""


class ArtifactFilterRequest(_ArtifactScope, _Paged):
    """POST /artifacts/filter."""

    sort: ArtifactSort = ArtifactSort.ID_DESC


class _ArtifactCollectionScope(_Body):
    artifacts: ArtifactCollectionFilter | None = None
    flow_runs: FlowRunFilter | None = None
    task_runs: TaskRunFilter | None = None
    flows: FlowFilter | None = None
    deployments: DeploymentFilter | None = None


class ArtifactCollectionCountRequest(_ArtifactCollectionScope):
    """POST /artifacts/latest/count."""


class ArtifactCollectionFilterRequest(_ArtifactCollectionScope, _Paged):
    """POST /artifacts/latest/filter."""

    sort: ArtifactCollectionSort = ArtifactCollectionSort.ID_DESC


class VariableFilterRequest(_Paged):
    """POST /variables/filter."""

    variables: VariableFilter | None = None
    sort: VariableSort = VariableSort.NAME_ASC


class VariableCountRequest(_Body):
    """POST /variables/count."""

    variables: VariableFilter | None = None


__all__ = [
    "ArtifactCollectionCountRequest",
    "ArtifactCollectionFilterRequest",
    "ArtifactCountRequest",
    "ArtifactFilterRequest",
    "DeploymentCountRequest",
    "DeploymentFilterRequest",
    "DeploymentPaginateRequest",
    "FlowCountRequest",
    "FlowFilterRequest",
    "FlowPaginateRequest",
    "FlowRunCountRequest",
    "FlowRunFilterRequest",
    "FlowRunPaginateRequest",
    "LogFilterRequest",
    "TaskRunCountRequest",
    "TaskRunFilterRequest",
    "TaskRunPaginateRequest",
    "VariableCountRequest",
    "VariableFilterRequest",
    "WorkPoolCountRequest",
    "WorkPoolFilterRequest",
    "WorkQueueFilterRequest",
]
