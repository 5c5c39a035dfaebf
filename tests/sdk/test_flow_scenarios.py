"""The foundation scenarios, run with the Serverflow SDK and read back through the API."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from serverflow import create_markdown_artifact, flow, get_run_logger, task
from serverflow.states import State

pytestmark = pytest.mark.timeout(90)

_attempts: dict[str, itertools.count[int]] = {}


def attempt(key: str) -> int:
    """1 on the first call for ``key``, 2 on the second, ... (process-wide)."""
    return next(_attempts.setdefault(key, itertools.count(1)))


@task
def add(a: int, b: int) -> int:
    return a + b


@task(retries=1, retry_delay_seconds=0)
def flaky_double(x: int, key: str) -> int:
    if attempt(key) == 1:
        raise ValueError("first attempt fails")
    return x * 2


@task
def announce(value: int) -> str:
    get_run_logger().info("value is %s", value)
    return f"value={value}"


@flow
def child_flow(n: int) -> int:
    get_run_logger().info("child got %s", n)
    return n + 1


@flow(log_prints=True)
def parent_flow(n: int, key: str) -> int:
    a = add(n, 2)
    b = flaky_double(a, key)
    announce(b)
    c = child_flow(b)
    print("hello from the parent flow")
    create_markdown_artifact("# Report\nall good", key="sdk-report", description="scenario a")
    return c


def test_flow_with_tasks_retry_subflow_logs_and_artifact(sdk_env: str, reader: Any, request: Any) -> None:
    state: State[int] = parent_flow(3, request.node.name, return_state=True)
    assert state.is_completed()
    assert state.result() == 11
    flow_run_id = state.state_details["flow_run_id"]

    run = reader.flow_run(flow_run_id)
    assert (run["state_type"], run["state_name"], run["run_count"]) == ("COMPLETED", "Completed", 1)
    assert [s["name"] for s in reader.flow_run_states(flow_run_id)] == ["Pending", "Running", "Completed"]

    # 3 tasks (from events) + the subflow's parent task run (REST), like prefect.
    reader.wait_until(lambda: reader.count_task_runs(flow_run_id, state={"type": {"any_": ["COMPLETED"]}}) == 4)
    task_runs = {t["name"].rsplit("-", 1)[0]: t for t in reader.task_runs(flow_run_id)}
    flaky = next(t for name, t in task_runs.items() if name.startswith("flaky_double"))
    assert flaky["run_count"] == 2 and flaky["state_name"] == "Completed"
    assert [s["name"] for s in reader.task_run_states(flaky["id"])] == ["Pending", "Running", "Retrying", "Completed"]
    add_run = next(t for name, t in task_runs.items() if name.startswith("add"))
    assert add_run["run_count"] == 1
    assert flaky["task_inputs"]["x"] == []  # resolved value, not a future

    parent_task = next(t for t in task_runs.values() if t["name"].startswith("child-flow"))
    (child,) = reader.subflow_runs([parent_task["id"]])
    assert child["state_type"] == "COMPLETED" and child["parent_task_run_id"] == parent_task["id"]

    reader.wait_until(
        lambda: any("hello from the parent flow" in m for m in [log["message"] for log in reader.logs(flow_run_id)])
    )
    messages = [log["message"] for log in reader.logs(flow_run_id)]
    assert any("value is 10" in m for m in messages)
    assert any("Retry 1/1 will start immediately" in m for m in messages)
    assert any("child got 10" in log["message"] for log in reader.logs(child["id"]))

    (artifact,) = reader.artifacts(flow_run_id)
    assert (artifact["key"], artifact["type"], artifact["data"]) == ("sdk-report", "markdown", "# Report\nall good")


@flow
def failing_flow() -> None:
    raise RuntimeError("this flow fails")


def test_failing_flow_is_failed(sdk_env: str, reader: Any) -> None:
    with pytest.raises(RuntimeError, match="this flow fails"):
        failing_flow()
    state = failing_flow(return_state=True)
    assert state.is_failed()
    run = reader.flow_run(state.state_details["flow_run_id"])
    assert run["state_type"] == "FAILED" and run["run_count"] == 1
    assert "RuntimeError: this flow fails" in run["state"]["message"]


@flow(retries=1, retry_delay_seconds=0)
def flow_failing_once(key: str) -> str:
    if attempt(key) == 1:
        raise ValueError("first flow attempt fails")
    return "second attempt"


def test_flow_retries_through_awaiting_retry(sdk_env: str, reader: Any, request: Any) -> None:
    state = flow_failing_once(request.node.name, return_state=True)
    assert state.is_completed() and state.result() == "second attempt"
    flow_run_id = state.state_details["flow_run_id"]
    run = reader.flow_run(flow_run_id)
    assert (run["state_type"], run["run_count"]) == ("COMPLETED", 2)
    names = [s["name"] for s in reader.flow_run_states(flow_run_id)]
    assert names == ["Pending", "Running", "AwaitingRetry", "Running", "Completed"]


@task
def explode() -> None:
    raise KeyError("boom")


@flow
def flow_with_failing_task() -> str:
    future = explode.submit()
    state = future.state if future.wait() is None else None
    return "finished" if state is not None and state.is_failed() else "unexpected"


def test_failed_submitted_task_does_not_fail_flow(sdk_env: str, reader: Any) -> None:
    state = flow_with_failing_task(return_state=True)
    assert state.result() == "finished"
    flow_run_id = state.state_details["flow_run_id"]
    (_task_run,) = reader.wait_until(lambda: reader.task_runs(flow_run_id))
    reader.wait_until(lambda: reader.task_runs(flow_run_id)[0]["state_type"] == "FAILED")
