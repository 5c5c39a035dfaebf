"""The joined filters a list endpoint takes from the request body, as one dependency.

The reference's flow-run and deployment filter/count/paginate endpoints share the same
six body keys (task runs use four); declaring them once keeps those bodies identical by
construction.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from shared.schemas.filters.deployments import DeploymentFilter, WorkPoolFilter, WorkQueueFilter
from shared.schemas.filters.runs import FlowFilter, FlowRunFilter, TaskRunFilter


@dataclass(frozen=True)
class JoinedFilters:
    flows: FlowFilter | None
    flow_runs: FlowRunFilter | None
    task_runs: TaskRunFilter | None
    deployments: DeploymentFilter | None
    work_pools: WorkPoolFilter | None
    work_queues: WorkQueueFilter | None

    def filter_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the storage filters (`queries.filter_flow_runs`, `queries.filter_deployments`)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


def joined_filters(
    flows: FlowFilter | None = None,
    flow_runs: FlowRunFilter | None = None,
    task_runs: TaskRunFilter | None = None,
    deployments: DeploymentFilter | None = None,
    work_pools: WorkPoolFilter | None = None,
    work_pool_queues: WorkQueueFilter | None = None,
) -> JoinedFilters:
    return JoinedFilters(flows, flow_runs, task_runs, deployments, work_pools, work_pool_queues)


@dataclass(frozen=True)
class TaskRunCriteria:
    flows: FlowFilter | None
    flow_runs: FlowRunFilter | None
    task_runs: TaskRunFilter | None
    deployments: DeploymentFilter | None

    def filter_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `shared.storage.queries.filter_task_runs`."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


def task_run_criteria(
    flows: FlowFilter | None = None,
    flow_runs: FlowRunFilter | None = None,
    task_runs: TaskRunFilter | None = None,
    deployments: DeploymentFilter | None = None,
) -> TaskRunCriteria:
    return TaskRunCriteria(flows, flow_runs, task_runs, deployments)
