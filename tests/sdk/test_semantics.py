"""Prefect user-facing semantics of @flow/@task: validation, names, return_state, futures, wait_for, hooks,
timeouts, retries with delays, runtime, tags, table/link artifacts, async flows and tasks."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import Any

import pytest
import serverflow
from serverflow import (
    create_link_artifact,
    create_table_artifact,
    flow,
    runtime,
    tags,
    task,
    unmapped,
)
from serverflow.exceptions import ParameterValidationError, UpstreamTaskError

pytestmark = pytest.mark.timeout(90)

events: list[str] = []


@task(task_run_name="double-{x}")
def double(x: int) -> int:
    return 2 * x


@task
def fail_always() -> None:
    raise ValueError("nope")


@task
def total(values: list[int], offset: int) -> int:
    return sum(values) + offset


@flow(flow_run_name="calc-{n}")
def calc(n: int) -> dict[str, Any]:
    futures = double.map(range(n))
    summed = total.submit(futures, 100)
    after = double.submit(1, wait_for=[summed])
    bad = fail_always.submit()
    downstream = double.submit(bad)
    downstream.wait()
    return {
        "sum": summed.result(),
        "after": after.result(),
        "bad": bad.state.is_failed() if bad.wait() is None else None,
        "downstream": type(downstream.state.result(raise_on_failure=False)).__name__,
        "names": sorted(f.state.name for f in futures),
    }


def test_futures_map_wait_for_and_upstream_failures(sdk_env: str, reader: Any) -> None:
    state = calc(4, return_state=True)
    result = state.result()
    assert result["sum"] == 2 * (0 + 1 + 2 + 3) + 100
    assert result["after"] == 2 and result["bad"] is True
    assert result["downstream"] == UpstreamTaskError.__name__
    flow_run_id = state.state_details["flow_run_id"]
    assert reader.flow_run(flow_run_id)["name"] == "calc-4"
    runs = reader.wait_until(lambda: (lambda r: r if len(r) == 8 else None)(reader.task_runs(flow_run_id)))
    names = {r["name"] for r in runs}
    assert {"double-0", "double-1", "double-2", "double-3"} <= names
    summed = next(r for r in runs if r["name"].startswith("total"))
    assert len(summed["task_inputs"]["values"]) == 4  # upstream links to the mapped runs
    not_ready = next(r for r in runs if r["state_name"] == "NotReady")
    assert not_ready["state_type"] == "PENDING"


@flow
def typed(n: int, ratio: float = 0.5) -> float:
    return n * ratio


def test_parameters_are_validated_from_type_hints(sdk_env: str) -> None:
    assert typed("4") == 2.0  # coerced like prefect (pydantic)
    with pytest.raises(ParameterValidationError):
        typed("not a number")


def _on_completion(flow: Any, flow_run: Any, state: Any) -> None:
    events.append(f"flow-completed:{flow.name}:{state.name}")


def _on_failure(task: Any, task_run: Any, state: Any) -> None:
    events.append(f"task-failed:{task.name}:{state.name}")


@task(on_failure=[_on_failure], timeout_seconds=0.3)
def slow_task() -> None:
    for _ in range(100):
        time.sleep(0.02)


@flow(on_completion=[_on_completion])
def hooked() -> str:
    state = slow_task(return_state=True)
    return state.name


def test_hooks_and_task_timeout(sdk_env: str) -> None:
    assert hooked() == "TimedOut"
    assert "task-failed:slow_task:TimedOut" in events
    assert "flow-completed:hooked:Completed" in events


@flow(timeout_seconds=0.5)
def sleepy_flow() -> None:
    time.sleep(60)


@pytest.mark.timeout(45, func_only=True)  # the flow must be interrupted: its 60 s sleep would outlast this bound
def test_flow_timeout_fails_the_run(sdk_env: str, reader: Any) -> None:
    state = sleepy_flow(return_state=True)
    assert state.is_failed() and state.name == "TimedOut"
    assert reader.flow_run(state.state_details["flow_run_id"])["state_name"] == "TimedOut"


attempts: dict[str, int] = {}


@task(retries=2, retry_delay_seconds=[0.1, 0.2])
def eventually(key: str) -> int:
    attempts[key] = attempts.get(key, 0) + 1
    if attempts[key] < 3:
        raise RuntimeError("not yet")
    return attempts[key]


@flow
def retrying_flow(key: str) -> int:
    return eventually(key)


def test_task_retry_delays_go_through_awaiting_retry(sdk_env: str, reader: Any, request: Any) -> None:
    state = retrying_flow(request.node.name, return_state=True)
    assert state.result() == 3
    (task_run,) = reader.wait_until(
        lambda: [t for t in reader.task_runs(state.state_details["flow_run_id"]) if t["state_type"] == "COMPLETED"]
    )
    assert task_run["run_count"] == 3
    names = [s["name"] for s in reader.task_run_states(task_run["id"])]
    assert names == ["Pending", "Running", "AwaitingRetry", "Running", "AwaitingRetry", "Running", "Completed"]


@task
def where_am_i() -> dict[str, Any]:
    return {"task": runtime.task_run.name, "task_runs": runtime.task_run.run_count, "flow": runtime.flow_run.name}


@flow(flow_run_name="rt-{label}")
def runtime_flow(label: str) -> dict[str, Any]:
    with tags("inner"):
        inside = where_am_i()
    return {
        "id": runtime.flow_run.id,
        "name": runtime.flow_run.name,
        "flow_name": runtime.flow_run.flow_name,
        "parameters": runtime.flow_run.parameters,
        "run_count": runtime.flow_run.run_count,
        "tags": runtime.flow_run.tags,
        "deployment": runtime.deployment.id,
        "inside": inside,
    }


def test_runtime_and_tags(sdk_env: str, reader: Any) -> None:
    with tags("outer"):
        state = runtime_flow("x", return_state=True)
    info = state.result()
    assert info["id"] == state.state_details["flow_run_id"]
    assert info["name"] == "rt-x" and info["flow_name"] == "runtime-flow"
    assert info["parameters"] == {"label": "x"} and info["run_count"] == 1
    assert info["tags"] == ["outer"] and info["deployment"] is None
    assert info["inside"]["flow"] == "rt-x" and info["inside"]["task_runs"] == 1
    (task_run,) = reader.wait_until(lambda: reader.task_runs(info["id"]))
    assert sorted(task_run["tags"]) == ["inner", "outer"]


@flow
def artifact_flow() -> None:
    create_table_artifact([{"a": 1, "b": float("nan")}], key="sdk-table")
    create_link_artifact("https://example.com/report", "report", key="sdk-link")


def test_table_and_link_artifacts(sdk_env: str, reader: Any) -> None:
    state = artifact_flow(return_state=True)
    artifacts = {a["key"]: a for a in reader.artifacts(state.state_details["flow_run_id"])}
    assert artifacts["sdk-table"]["type"] == "table"
    assert artifacts["sdk-table"]["data"] == '[{"a": 1, "b": null}]'
    assert artifacts["sdk-link"]["data"] == "[report](https://example.com/report)"


@task
async def async_inc(x: int) -> int:
    await asyncio.sleep(0.01)
    return x + 1


@flow
async def async_flow(n: int) -> list[int]:
    direct = await async_inc(n)
    mapped = async_inc.map([1, 2, 3])
    return [direct, *mapped.result()]


def test_async_flow_and_tasks(sdk_env: str) -> None:
    assert asyncio.run(async_flow(10)) == [11, 2, 3, 4]


def test_map_unmapped_and_length_checks(sdk_env: str) -> None:
    @flow
    def mapper() -> list[int]:
        return total.map([[1], [2, 2]], unmapped(10)).result()

    assert mapper() == [11, 14]

    @flow
    def bad_lengths() -> None:
        total.map([[1]], [1, 2])

    with pytest.raises(ValueError, match="different lengths"):
        bad_lengths()


def test_import_is_light() -> None:
    """``import serverflow`` (and the decorators) must not pull in httpx, pydantic or boto3."""
    code = (
        "import sys, serverflow; from serverflow import flow, task; "
        "print(sorted(m for m in ('httpx', 'pydantic', 'boto3', 'anyio') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert serverflow.__version__


@flow
def pre_created(x: int) -> dict[str, Any]:
    return {"x": x, "id": runtime.flow_run.id, "run_count": runtime.flow_run.run_count}


def test_executes_an_existing_flow_run_like_a_worker(sdk_env: str, api: Any, reader: Any) -> None:
    flow_id = api.post("/flows/", json={"name": "pre-created"}).json()["id"]
    run = api.post(
        "/flow_runs/",
        json={"flow_id": flow_id, "parameters": {"x": "7"}, "state": {"type": "PENDING", "name": "Pending"}},
    ).json()
    state = pre_created.run_existing(run["id"])
    assert state.result() == {"x": 7, "id": run["id"], "run_count": 1}
    assert reader.flow_run(run["id"])["state_type"] == "COMPLETED"
