"""Run with the REAL prefect client against PREFECT_API_URL, then read everything back.

Prints one JSON document (last stdout line) for the test to assert on.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx
from prefect import flow, get_client, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
    LogFilterTaskRunId,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
)

ATTEMPTS: dict[str, int] = {"flaky": 0}


@task
def add(x: int, y: int) -> int:
    return x + y


@task(retries=2, retry_delay_seconds=0)
def flaky(x: int) -> int:
    ATTEMPTS["flaky"] += 1
    if ATTEMPTS["flaky"] == 1:
        raise ValueError("first attempt fails")
    return x * 10


@task
def shout(text: str) -> str:
    get_run_logger().info("shouting %s", text)
    return text.upper()


@flow
def child(n: int) -> int:
    get_run_logger().info("child running with %s", n)
    return n + 1


@flow(name="foundation-parent")
def parent() -> dict[str, Any]:
    logger = get_run_logger()
    logger.info("parent starting")
    total = add(1, 2)
    tenfold = flaky(total)
    loud = shout("hello")
    sub = child(tenfold)
    create_markdown_artifact(markdown="# Report\n\nAll good.", key="foundation-report", description="e2e")
    logger.warning("parent done")
    return {"total": total, "tenfold": tenfold, "loud": loud, "sub": sub}


@flow(name="foundation-fails")
def failing() -> None:
    raise RuntimeError("this flow fails")


FLOW_RETRY_ATTEMPTS = {"n": 0}


@flow(name="foundation-flow-retries", retries=1, retry_delay_seconds=0)
def retried() -> str:
    FLOW_RETRY_ATTEMPTS["n"] += 1
    if FLOW_RETRY_ATTEMPTS["n"] == 1:
        raise RuntimeError("fails once")
    return "ok"


async def _state_by_id(client: Any, state_id: Any) -> dict[str, Any] | int:
    """GET /task_run_states/{id}: the state's id and type, or the error status (the client raises on it)."""
    try:
        response = await client.request("GET", "/task_run_states/{id}", path_params={"id": state_id})
    except httpx.HTTPStatusError as error:
        return error.response.status_code
    return {"id": response.json()["id"], "type": response.json()["type"]}


async def read_back(parent_id: Any, failing_id: Any, retried_id: Any) -> dict[str, Any]:
    async with get_client() as client:
        # Task runs arrive over the events websocket; give the stream a moment to drain.
        deadline = time.monotonic() + 20
        while True:
            task_runs = await client.read_task_runs(
                task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[parent_id]))
            )
            done = all(tr.state_type is not None and tr.state_type.value in ("COMPLETED", "FAILED") for tr in task_runs)
            if (len(task_runs) >= 4 and done) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        parent_run = await client.read_flow_run(parent_id)
        subflows = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_task_run_id={"any_": [tr.id for tr in task_runs]})
        )
        in_flow_runs = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[parent_id] + [s.id for s in subflows]))
        logs_before = await client.read_logs(log_filter=in_flow_runs)
        # As the UI's task-run page: each task run's logs by task run alone (stored in its flow run's groups).
        by_task_run = {
            str(tr.id): await client.read_logs(log_filter=LogFilter(task_run_id=LogFilterTaskRunId(any_=[tr.id])))
            for tr in task_runs
        }
        # Read before and after those: a task run's lines read by task run are between the two.
        logs = await client.read_logs(log_filter=in_flow_runs)
        artifacts = await client.read_artifacts()
        failing_run = await client.read_flow_run(failing_id)
        retried_run = await client.read_flow_run(retried_id)
        flow_runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[parent_id, failing_id, retried_id]))
        )
        states = await client.read_flow_run_states(parent_id)
        # Each state of a task run, read by its (client-made, UUIDv7) id: GET /task_run_states/{id}.
        flaky_run = next(tr for tr in task_runs if tr.name.startswith("flaky"))
        # The recorder writes a batch's runs before their history: wait for the final state there too.
        history_deadline = time.monotonic() + 20
        flaky_states = await client.read_task_run_states(flaky_run.id)
        while (not flaky_states or flaky_states[-1].type.value != "COMPLETED") and time.monotonic() < history_deadline:
            await asyncio.sleep(0.2)
            flaky_states = await client.read_task_run_states(flaky_run.id)
        by_id = [await _state_by_id(client, state.id) for state in flaky_states]
        return {
            "parent": {
                "state": parent_run.state_type.value,
                "run_count": parent_run.run_count,
                "name": parent_run.name,
            },
            "subflows": [
                {"state": s.state_type.value, "parent_task_run_id": str(s.parent_task_run_id)} for s in subflows
            ],
            "task_runs": [
                {
                    "name": tr.name,
                    "state": tr.state_type.value if tr.state_type else None,
                    "state_name": tr.state_name,
                    "run_count": tr.run_count,
                    "id": str(tr.id),
                }
                for tr in task_runs
            ],
            "logs": [log.message for log in logs],
            "log_lines": [{"id": str(log.id), "task_run_id": str(log.task_run_id)} for log in logs],
            "log_lines_before": [{"id": str(log.id), "task_run_id": str(log.task_run_id)} for log in logs_before],
            "logs_by_task_run": {
                task_run_id: [
                    {"id": str(log.id), "task_run_id": str(log.task_run_id), "message": log.message} for log in lines
                ]
                for task_run_id, lines in by_task_run.items()
            },
            "artifacts": [
                {"key": a.key, "type": a.type, "data": a.data, "flow_run_id": str(a.flow_run_id)} for a in artifacts
            ],
            "failing": {"state": failing_run.state_type.value, "run_count": failing_run.run_count},
            "retried": {"state": retried_run.state_type.value, "run_count": retried_run.run_count},
            "filtered_count": len(flow_runs),
            "parent_state_history": [s.type.value for s in states],
            "flaky_states": [{"id": str(state.id), "type": state.type.value} for state in flaky_states],
            "flaky_states_by_id": by_id,
        }


def main() -> None:
    parent_state = parent(return_state=True)
    result = parent_state.result()
    parent_id = parent_state.state_details.flow_run_id
    failing_state = failing(return_state=True)
    retried_state = retried(return_state=True)
    summary = asyncio.run(
        read_back(parent_id, failing_state.state_details.flow_run_id, retried_state.state_details.flow_run_id)
    )
    summary["result"] = result
    summary["retried_result"] = retried_state.result()
    sys.stdout.write("\n" + json.dumps(summary, default=str) + "\n")


if __name__ == "__main__":
    main()
