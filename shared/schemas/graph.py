"""The flow-run graph payloads (`GET /flow_runs/{id}/graph` and `graph-v2`), as in prefect 3.9.1."""

from __future__ import annotations

import datetime
from typing import Any, Literal
from uuid import UUID

from shared.schemas.base import APIBaseModel
from shared.schemas.states import State, StateType
from shared.schemas.task_runs import TaskRunResult
from shared.schemas.types import DateTime


class GraphState(APIBaseModel):
    id: UUID
    timestamp: DateTime
    type: StateType
    name: str


class GraphArtifact(APIBaseModel):
    id: UUID
    created: DateTime
    key: str | None
    type: str | None
    is_latest: bool
    # Only progress artifacts carry their data, as the reference.
    data: Any | None


class Edge(APIBaseModel):
    id: UUID


class Node(APIBaseModel):
    kind: Literal["flow-run", "task-run"]
    id: UUID
    label: str
    state_type: StateType
    start_time: DateTime
    end_time: DateTime | None
    parents: list[Edge]
    children: list[Edge]
    encapsulating: list[Edge]
    artifacts: list[GraphArtifact]


class Graph(APIBaseModel):
    start_time: DateTime | None
    end_time: DateTime | None
    root_node_ids: list[UUID]
    nodes: list[tuple[UUID, Node]]
    artifacts: list[GraphArtifact]
    states: list[GraphState]


class DependencyResult(APIBaseModel):
    """One task run of the v1 graph (`/graph`): its upstream task runs and timings."""

    id: UUID
    name: str
    upstream_dependencies: list[TaskRunResult]
    state: State | None
    expected_start_time: datetime.datetime | None
    start_time: datetime.datetime | None
    end_time: datetime.datetime | None
    total_run_time: datetime.timedelta | None
    estimated_run_time: datetime.timedelta | None
    untrackable_result: bool
