"""Caching (policy, key function, expiration) and persisted results reused by a retried parent (#22259)."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from datetime import timedelta
from typing import Any

import pytest
from serverflow import flow, task
from serverflow.cache_policies import INPUTS

pytestmark = pytest.mark.timeout(90)

executions: dict[str, int] = {}


def ran(key: str) -> None:
    executions[key] = executions.get(key, 0) + 1


@task(cache_policy=INPUTS, cache_expiration=timedelta(minutes=10))
def square(x: int, key: str) -> int:
    ran(key)
    return x * x


@flow
def squaring_flow(x: int, key: str, expiring: bool = False) -> int:
    return (square.with_options(cache_expiration=timedelta(seconds=1)) if expiring else square)(x, key)


def _last_task_state(reader: Any, flow_run_id: str) -> str:
    runs = reader.wait_until(lambda: [t for t in reader.task_runs(flow_run_id) if t["state_type"] == "COMPLETED"])
    return str(runs[0]["state_name"])


def test_cache_hit_then_expiry_recomputes(sdk_env: str, reader: Any, request: Any) -> None:
    key = request.node.name
    first = squaring_flow(7, key, return_state=True)
    second = squaring_flow(7, key, return_state=True)
    assert first.result() == second.result() == 49
    assert executions[key] == 1
    assert _last_task_state(reader, first.state_details["flow_run_id"]) == "Completed"
    assert _last_task_state(reader, second.state_details["flow_run_id"]) == "Cached"

    other_input = squaring_flow(8, key)
    assert other_input == 64 and executions[key] == 2


def test_expired_cache_recomputes(sdk_env: str, reader: Any, request: Any) -> None:
    key = request.node.name
    assert squaring_flow(5, key, expiring=True) == 25
    time.sleep(1.2)  # past the 1 s cache_expiration
    again = squaring_flow(5, key, expiring=True, return_state=True)
    assert again.result() == 25 and executions[key] == 2
    assert _last_task_state(reader, again.state_details["flow_run_id"]) == "Completed"


@task(cache_key_fn=lambda context, parameters: f"by-user-{parameters['user']}")
def profile(user: str, noise: int, key: str) -> str:
    ran(key)
    return f"{user}:{noise}"


@flow
def profile_flow(key: str) -> list[str]:
    return [profile("ada", 1, key), profile("ada", 2, key), profile("bob", 3, key)]


def test_cache_key_fn_decides_hits(sdk_env: str, request: Any) -> None:
    key = request.node.name
    assert profile_flow(key) == ["ada:1", "ada:1", "bob:3"]
    assert executions[key] == 2


# --- #22259: concurrent subflows, parent retried, each must get its own result -----------------------------------
child_calls: dict[str, int] = {}
parent_attempts: dict[str, itertools.count[int]] = {}


@flow(persist_result=True)
async def tenfold(n: int, key: str) -> int:
    child_calls[f"{key}-{n}"] = child_calls.get(f"{key}-{n}", 0) + 1
    await asyncio.sleep(random.uniform(0, 0.05))  # finish in a random order
    return n * 10


@flow(retries=1, retry_delay_seconds=0)
async def fan_out(key: str) -> list[int]:
    attempt = next(parent_attempts.setdefault(key, itertools.count(1)))
    inputs = list(range(10))
    if attempt > 1:
        # Start the subflows in a different order on the retry: positional keys would hand child i the run of
        # whichever child was i-th on the first attempt.
        inputs.reverse()
    results = await asyncio.gather(*(tenfold(n, key) for n in inputs))
    if attempt == 1:
        raise RuntimeError("parent fails after its subflows completed")
    return [r for _, r in sorted(zip(inputs, results, strict=True))]


def test_concurrent_subflows_keep_their_own_results_on_parent_retry(sdk_env: str, reader: Any, request: Any) -> None:
    key = request.node.name
    state = asyncio.run(fan_out(key, return_state=True))
    assert state.is_completed(), state
    assert state.result() == [n * 10 for n in range(10)]
    # Each child ran once: the retry reused every completed child's persisted result.
    assert all(child_calls[f"{key}-{n}"] == 1 for n in range(10))

    flow_run_id = state.state_details["flow_run_id"]
    assert reader.flow_run(flow_run_id)["run_count"] == 2
    parent_tasks = reader.wait_until(lambda: reader.task_runs(flow_run_id))
    assert len(parent_tasks) == 10
    children = reader.subflow_runs([t["id"] for t in parent_tasks])
    assert len(children) == 10
    assert sorted(c["parameters"]["n"] for c in children) == list(range(10))
