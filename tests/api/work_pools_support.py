"""Helpers for the work pool / work queue tests: HTTP shortcuts and an in-process view of the
stack's emulated AWS (for invoking scheduled handlers and inspecting SQS like a Lambda would)."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import httpx

from tests.aws_env import stack_aws_env


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def ok(response: httpx.Response, code: int = 200) -> Any:
    assert response.status_code == code, (response.status_code, response.text)
    return response.json() if response.content else None


def create_pool(client: httpx.Client, **body: Any) -> dict[str, Any]:
    body.setdefault("name", unique("pool"))
    body.setdefault("type", "process")
    return ok(client.post("/work_pools/", json=body), 201)


def create_flow(client: httpx.Client) -> str:
    return str(ok(client.post("/flows/", json={"name": unique("flow")}), 201)["id"])


def iso(when: datetime.datetime) -> str:
    return when.astimezone(datetime.UTC).isoformat()


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def scheduled_run(
    client: httpx.Client,
    aws_endpoint_url: str,
    flow_id: str,
    pool: dict[str, Any],
    queue: dict[str, Any],
    when: datetime.datetime | None = None,
    state_type: str = "SCHEDULED",
) -> dict[str, Any]:
    """A run in `queue` of `pool`, created over HTTP with POST /flow_runs/."""
    state: dict[str, Any] = {"type": state_type, "name": state_type.title()}
    if state_type == "SCHEDULED":
        state["state_details"] = {"scheduled_time": iso(when or now() - datetime.timedelta(seconds=1))}
    run = ok(
        client.post(
            "/flow_runs/",
            json={"flow_id": flow_id, "work_pool_name": pool["name"], "work_queue_name": queue["name"], "state": state},
        ),
        201,
    )
    if run.get("work_queue_id") is None:
        run = _place_in_queue(aws_endpoint_url, run["id"], pool, queue)
    assert run["work_queue_id"] == queue["id"]
    return run


def _place_in_queue(aws_endpoint_url: str, run_id: str, pool: dict[str, Any], queue: dict[str, Any]) -> dict[str, Any]:
    """Until POST /flow_runs/ resolves work_pool_name/work_queue_name to the queue id (the
    flow-runs domain; `work_queues.resolve_for_run` is the hook), set it through storage,
    exactly as that resolution would store it."""
    from shared.storage import flow_runs as flow_run_store

    def place(run: Any) -> Any:
        run.work_queue_id = uuid.UUID(queue["id"])
        run.work_queue_name = queue["name"]
        run.work_pool_id = uuid.UUID(pool["id"])
        run.work_pool_name = pool["name"]
        return run

    with stack_aws_env(aws_endpoint_url):
        placed = flow_run_store._modify(uuid.UUID(run_id), place)
    return placed.model_dump(mode="json")
