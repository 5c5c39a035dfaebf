"""A worker SIGKILLed mid-run: its flow processes die with it; once its heartbeats have expired, the
worker-expiry function (invoked here through its handler) crashes its runs, and reschedules the one
whose retries allow it, which the next worker then completes."""

from __future__ import annotations

import importlib
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infra.local.schedules import ScheduledFunction, scheduled_event
from tests.aws_env import stack_aws_env
from tests.worker.support import (
    create_deployment,
    create_pool,
    ok,
    read_run,
    run_worker,
    start_worker,
    wait_for,
    wait_for_state,
    worker_env,
)


@pytest.fixture
def expiry_in_process(aws_endpoint_url: str) -> Iterator[None]:
    """Maintenance code in this process against the stack's emulated table (as tests/maintenance do)."""
    with stack_aws_env(aws_endpoint_url):
        yield


def invoke_worker_expiry() -> dict:
    handler = importlib.import_module("functions.worker_expiry.handler").handler
    return handler(
        scheduled_event(ScheduledFunction("worker_expiry", "functions.worker_expiry.handler.handler", 60.0)), None
    )


def state_names(client: httpx.Client, run_id: str) -> list[str]:
    return [s["name"] for s in ok(client.get("/flow_run_states/", params={"flow_run_id": run_id}))]


def test_killed_worker_runs_end_crashed_and_retry_when_allowed(
    client: httpx.Client, api_url: str, aws_endpoint_url: str, tmp_path: Path, expiry_in_process: None
) -> None:
    pool = create_pool(client)["name"]
    deployment = create_deployment(client, pool, tmp_path / "project")
    marker = tmp_path / "started.txt"
    params = {"sleep": 60, "marker": str(marker)}
    with_retry = ok(
        client.post(
            f"/deployments/{deployment['id']}/create_flow_run",
            json={"parameters": params, "empirical_policy": {"retries": 1, "retry_delay": 0}},
        )
    )
    without = ok(client.post(f"/deployments/{deployment['id']}/create_flow_run", json={"parameters": params}))

    env = worker_env(api_url, aws_endpoint_url, tmp_path, SERVERFLOW_WORKER_HEARTBEAT_SECONDS="1")
    worker = start_worker(pool, env, tmp_path / "worker.log", "--limit", "2")
    try:
        for run in (with_retry, without):
            wait_for_state(client, run["id"], "RUNNING", timeout=40)
        wait_for(lambda: marker.exists() and len(marker.read_text().split()) == 2, timeout=30)
        pids = [int(read_run(client, r["id"])["infrastructure_pid"].rsplit(":", 1)[1]) for r in (with_retry, without)]
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    # The flow processes die with their worker (no unsupervised runs left behind).
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids), timeout=10)
    assert {read_run(client, r["id"])["state_type"] for r in (with_retry, without)} == {"RUNNING"}

    time.sleep(3.5)  # 3 missed 1 s heartbeats
    invoke_worker_expiry()  # the stack's own ticker may get there first: assert outcomes, not counts

    crashed = read_run(client, without["id"])
    assert crashed["state_type"] == "CRASHED" and "stopped heartbeating" in crashed["state"]["message"]
    retried = read_run(client, with_retry["id"])
    assert (retried["state_type"], retried["state_name"]) == ("SCHEDULED", "AwaitingRetry")
    assert state_names(client, with_retry["id"])[-2:] == ["Crashed", "AwaitingRetry"]

    # The rescheduled run goes back through the pool: the next worker completes it.
    marker.unlink()
    done = run_worker(
        pool, worker_env(api_url, aws_endpoint_url, tmp_path, SERVERFLOW_WORKER_HEARTBEAT_SECONDS="1"), "--once"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    final = read_run(client, with_retry["id"])
    assert final["state_type"] == "COMPLETED" and final["run_count"] == 2, done.stdout
    assert read_run(client, without["id"])["state_type"] == "CRASHED"
