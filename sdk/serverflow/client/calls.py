"""Every API call the SDK makes, as data (method, path, body, parser).

The sync and async clients only differ in how they send a Call, so each endpoint is described once here.
Paths match what prefect 3.9.1 sends (trailing slash on collection POSTs).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ._transport import Call, json_body, json_list, no_body, raw_json
from .models import (
    Artifact,
    Deployment,
    Flow,
    FlowRun,
    LogEntry,
    OrchestrationResult,
    TaskRun,
    WorkPool,
    WorkQueue,
)


def _version(response: Any) -> str:
    return str(response.json())


def read_version() -> Call[str]:
    return Call("GET", "/admin/version", _version)


def create_flow(name: str, tags: list[str] | None = None) -> Call[Flow]:
    return Call("POST", "/flows/", json_body(Flow), json={"name": name, "tags": tags or []})


def read_flow(flow_id: UUID | str) -> Call[Flow]:
    return Call("GET", f"/flows/{flow_id}", json_body(Flow))


def create_flow_run(body: dict[str, Any]) -> Call[FlowRun]:
    return Call("POST", "/flow_runs/", json_body(FlowRun), json=body)


def read_flow_run(flow_run_id: UUID | str) -> Call[FlowRun]:
    return Call("GET", f"/flow_runs/{flow_run_id}", json_body(FlowRun))


def read_flow_runs(
    flow_runs: dict[str, Any] | None = None,
    *,
    flows: dict[str, Any] | None = None,
    deployments: dict[str, Any] | None = None,
    sort: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Call[list[FlowRun]]:
    body: dict[str, Any] = {"offset": offset}
    if flow_runs:
        body["flow_runs"] = flow_runs
    if flows:
        body["flows"] = flows
    if deployments:
        body["deployments"] = deployments
    if sort:
        body["sort"] = sort
    if limit is not None:
        body["limit"] = limit
    return Call("POST", "/flow_runs/filter", json_list(FlowRun), json=body)


def set_flow_run_state(
    flow_run_id: UUID | str, state: dict[str, Any], force: bool = False
) -> Call[OrchestrationResult]:
    return Call(
        "POST",
        f"/flow_runs/{flow_run_id}/set_state",
        json_body(OrchestrationResult),
        json={"state": state, "force": force},
    )


def create_task_run(body: dict[str, Any]) -> Call[TaskRun]:
    return Call("POST", "/task_runs/", json_body(TaskRun), json=body)


def read_task_run(task_run_id: UUID | str) -> Call[TaskRun]:
    return Call("GET", f"/task_runs/{task_run_id}", json_body(TaskRun))


def read_task_runs(
    task_runs: dict[str, Any] | None = None,
    *,
    flow_runs: dict[str, Any] | None = None,
    sort: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Call[list[TaskRun]]:
    body: dict[str, Any] = {"offset": offset}
    if task_runs:
        body["task_runs"] = task_runs
    if flow_runs:
        body["flow_runs"] = flow_runs
    if sort:
        body["sort"] = sort
    if limit is not None:
        body["limit"] = limit
    return Call("POST", "/task_runs/filter", json_list(TaskRun), json=body)


def create_logs(logs: list[dict[str, Any]]) -> Call[None]:
    return Call("POST", "/logs/", no_body, json=logs)


def read_logs(logs: dict[str, Any] | None = None, limit: int = 200, offset: int = 0) -> Call[list[LogEntry]]:
    body: dict[str, Any] = {"limit": limit, "offset": offset, "sort": "TIMESTAMP_ASC"}
    if logs:
        body["logs"] = logs
    return Call("POST", "/logs/filter", json_list(LogEntry), json=body)


def emit_events(events: list[dict[str, Any]]) -> Call[None]:
    return Call("POST", "/events", no_body, json=events)


def create_artifact(body: dict[str, Any]) -> Call[Artifact]:
    return Call("POST", "/artifacts/", json_body(Artifact), json=body)


def read_artifacts(artifacts: dict[str, Any] | None = None, limit: int | None = None) -> Call[list[Artifact]]:
    body: dict[str, Any] = {}
    if artifacts:
        body["artifacts"] = artifacts
    if limit is not None:
        body["limit"] = limit
    return Call("POST", "/artifacts/filter", json_list(Artifact), json=body)


def read_deployments(limit: int | None = None, offset: int = 0) -> Call[list[Deployment]]:
    body: dict[str, Any] = {"offset": offset}
    if limit is not None:
        body["limit"] = limit
    return Call("POST", "/deployments/filter", json_list(Deployment), json=body)


def read_deployment(deployment_id: UUID | str) -> Call[Deployment]:
    return Call("GET", f"/deployments/{deployment_id}", json_body(Deployment))


def read_deployment_by_name(flow_name: str, deployment_name: str) -> Call[Deployment]:
    return Call("GET", f"/deployments/name/{flow_name}/{deployment_name}", json_body(Deployment))


def create_flow_run_from_deployment(deployment_id: UUID | str, body: dict[str, Any]) -> Call[FlowRun]:
    return Call("POST", f"/deployments/{deployment_id}/create_flow_run", json_body(FlowRun), json=body)


def read_work_pools(limit: int | None = None, offset: int = 0) -> Call[list[WorkPool]]:
    body: dict[str, Any] = {"offset": offset}
    if limit is not None:
        body["limit"] = limit
    return Call("POST", "/work_pools/filter", json_list(WorkPool), json=body)


def read_work_pool(name: str) -> Call[WorkPool]:
    return Call("GET", f"/work_pools/{name}", json_body(WorkPool))


def create_work_pool(body: dict[str, Any]) -> Call[WorkPool]:
    return Call("POST", "/work_pools/", json_body(WorkPool), json=body)


def read_work_queues(pool_name: str) -> Call[list[WorkQueue]]:
    return Call("POST", f"/work_pools/{pool_name}/queues/filter", json_list(WorkQueue), json={})


def request(method: str, path: str, json: Any = None) -> Call[Any]:
    """Escape hatch for endpoints without a helper yet: returns the decoded JSON."""
    return Call(method, path, raw_json, json=json)
