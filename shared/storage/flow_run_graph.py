"""The graph of a flow run's task runs and subflows (`/flow_runs/{id}/graph`, `graph-v2`).

Reads, all through keys: the run (GetItem), its states (one Query of its partition), its task
runs (task runs' by-flow-run index), the subflows their states point at
(`state_details.child_flow_run_id`, BatchGetItem) and those subflows' flows (BatchGetItem), and
the run's artifacts (artifacts' by-flow-run index) with their collections (BatchGetItem). So the
items read are the items the graph shows, plus one flow per distinct subflow flow.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from uuid import UUID

from shared.schemas.artifacts import Artifact
from shared.schemas.filters.artifacts import (
    ArtifactCollectionFilter,
    ArtifactCollectionFilterKey,
    ArtifactFilter,
    ArtifactFilterFlowRunId,
)
from shared.schemas.flow_runs import FlowRun
from shared.schemas.graph import DependencyResult, Edge, Graph, GraphArtifact, GraphState, Node
from shared.schemas.sorting import ArtifactSort
from shared.schemas.states import StateType
from shared.schemas.task_runs import FlowRunResult, TaskRun, TaskRunResult
from shared.storage import artifacts as artifact_store
from shared.storage import flow_run_states, flows
from shared.storage import flow_runs as flow_run_store
from shared.storage import task_runs as task_run_store
from shared.storage.errors import StorageError

# The reference's PREFECT_API_MAX_FLOW_RUN_GRAPH_NODES / _ARTIFACTS defaults.
MAX_NODES = 10_000
MAX_ARTIFACTS = 10_000
PARENTS_INPUT = "__parents__"


class FlowRunGraphTooLarge(StorageError):
    """The graph has more nodes than the server returns (the reference answers 400)."""


def dependencies(flow_run_id: UUID) -> list[DependencyResult]:
    """The v1 graph: each task run of the run with the runs its inputs came from."""
    flow_run_store.read_or_404(flow_run_id)
    return [
        DependencyResult(
            id=run.id,
            name=run.name,
            upstream_dependencies=list(
                dict.fromkeys(
                    TaskRunResult(id=item.id)
                    for inputs in run.task_inputs.values()
                    for item in inputs
                    if isinstance(item, TaskRunResult | FlowRunResult)
                )
            ),
            state=run.state,
            expected_start_time=run.expected_start_time,
            start_time=run.start_time,
            end_time=run.end_time,
            total_run_time=run.total_run_time,
            estimated_run_time=run.estimated_run_time,
            untrackable_result=bool(run.state and run.state.state_details.untrackable_result),
        )
        for run in task_run_store.list_for_flow_run(flow_run_id)
    ]


def _graph_artifacts(flow_run_id: UUID) -> dict[UUID | None, list[GraphArtifact]]:
    """The run's artifacts (not results), oldest first, grouped by task run (None: the flow run's own)."""
    found: list[Artifact] = artifact_store.filter_artifacts(
        artifacts=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])),
        sort=ArtifactSort.CREATED_DESC,
    )
    found = [a for a in reversed(found) if a.type != "result"][:MAX_ARTIFACTS]
    keys = sorted({a.key for a in found if a.key})
    latest_ids = (
        {
            c.latest_id
            for c in artifact_store.filter_collections(
                artifacts=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=keys))
            )
        }
        if keys
        else set()
    )
    grouped: dict[UUID | None, list[GraphArtifact]] = defaultdict(list)
    for artifact in found:
        grouped[artifact.task_run_id].append(
            GraphArtifact(
                id=artifact.id,
                created=artifact.created,
                key=artifact.key,
                type=artifact.type,
                data=artifact.data if artifact.type == "progress" else None,
                is_latest=artifact.key is None or artifact.id in latest_ids,
            )
        )
    return grouped


def _start(task_run: TaskRun, subflow: FlowRun | None) -> datetime.datetime | None:
    if subflow is not None:
        return subflow.start_time or subflow.expected_start_time or task_run.start_time or task_run.expected_start_time
    return task_run.start_time or task_run.expected_start_time


def _end(task_run: TaskRun, subflow: FlowRun | None) -> datetime.datetime | None:
    if subflow is not None and subflow.end_time is not None:
        return subflow.end_time
    if task_run.end_time is not None:
        return task_run.end_time
    # A completed task run without an end time (e.g. a cache hit) is drawn as an instant.
    return task_run.expected_start_time if task_run.state_type == StateType.COMPLETED else None


def graph(flow_run_id: UUID, since: datetime.datetime | None = None) -> Graph:
    """The v2 graph: nodes with parent/child/encapsulating edges, artifacts and the run's states."""
    run = flow_run_store.read_or_404(flow_run_id)
    task_runs = task_run_store.list_for_flow_run(flow_run_id)
    child_ids = {
        tr.id: tr.state.state_details.child_flow_run_id
        for tr in task_runs
        if tr.state is not None and tr.state.state_details.child_flow_run_id is not None
    }
    subflows = {sf.id: sf for sf in flow_run_store.read_many(list(dict.fromkeys(child_ids.values())))}
    flow_names = {fid: f.name for fid, f in flows.read_many({sf.flow_id for sf in subflows.values()}).items()}

    # Each task run is a node; one that ran a subflow is drawn as that flow run.
    node_id_of: dict[UUID, UUID] = {}
    rows: list[tuple[UUID, TaskRun, FlowRun | None]] = []
    for tr in task_runs:
        subflow = subflows.get(child_ids.get(tr.id))  # type: ignore[arg-type]  # dict.get(None) is simply a miss
        node_id = subflow.id if subflow is not None else tr.id
        if _start(tr, subflow) is None:
            continue
        node_id_of[tr.id] = node_id
        rows.append((node_id, tr, subflow))
    known = {node_id for node_id, _, _ in rows} | set(node_id_of)

    def resolve(ref: UUID) -> UUID | None:
        ref = node_id_of.get(ref, ref)
        return ref if ref in known else None

    parents: dict[UUID, list[UUID]] = defaultdict(list)
    children: dict[UUID, list[UUID]] = defaultdict(list)
    encapsulating: dict[UUID, list[UUID]] = defaultdict(list)
    for node_id, tr, _ in rows:
        for input_name, inputs in tr.task_inputs.items():
            for item in inputs:
                ref = resolve(item.id) if isinstance(item, TaskRunResult | FlowRunResult) else None
                if ref is None:
                    continue
                if input_name == PARENTS_INPUT:
                    encapsulating[node_id].append(ref)
                else:
                    parents[node_id].append(ref)
                    children[ref].append(node_id)

    artifacts = _graph_artifacts(flow_run_id)
    nodes: list[tuple[UUID, Node]] = []
    for node_id, tr, subflow in rows:
        end = _end(tr, subflow)
        if since is not None and end is not None and end < since:
            continue
        nodes.append(
            (
                node_id,
                Node(
                    kind="flow-run" if subflow is not None else "task-run",
                    id=node_id,
                    label=f"{flow_names.get(subflow.flow_id, '')} / {subflow.name}" if subflow is not None else tr.name,
                    state_type=(subflow.state_type if subflow is not None else tr.state_type) or StateType.PENDING,
                    start_time=_start(tr, subflow),
                    end_time=end,
                    parents=[Edge(id=i) for i in dict.fromkeys(parents[node_id])],
                    children=[Edge(id=i) for i in dict.fromkeys(children[node_id])],
                    encapsulating=[Edge(id=i) for i in dict.fromkeys(encapsulating[node_id])],
                    artifacts=artifacts.get(tr.id, []),
                ),
            )
        )
    if len(nodes) > MAX_NODES:
        raise FlowRunGraphTooLarge(f"The graph of flow run {flow_run_id} has more than {MAX_NODES} nodes.")
    nodes.sort(
        key=lambda pair: (pair[1].start_time, pair[1].end_time or datetime.datetime.max.replace(tzinfo=datetime.UTC))
    )
    return Graph(
        start_time=run.start_time or run.expected_start_time,
        end_time=run.end_time,
        root_node_ids=[node_id for node_id, node in nodes if not node.parents],
        nodes=nodes,
        artifacts=artifacts.get(None, []),
        states=[
            GraphState(
                id=state.id, timestamp=state.timestamp, type=state.type, name=state.name or state.type.value.title()
            )
            for state in flow_run_states.history(flow_run_id)
        ],
    )
