"""Push delivery: `create_flow_run` for "now" reaches a waiting `serverflow worker` through its pool's SQS
queue. The worker's API poll is set to 60 s, so only the SQS message can start the run within seconds."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

import httpx

from tests.worker.support import (
    create_deployment,
    create_pool,
    ok,
    read_run,
    start_worker,
    stop,
    wait_for,
    wait_for_state,
    worker_env,
)

PUSH_BOUND_SECONDS = 5.0  # a functional check of push delivery, not a speed target (typically well under 1 s)
# No API poll for a minute; 3 s long polls (a message still ends one at once) so the worker stops quickly.
PUSH_ONLY = {"SERVERFLOW_WORKER_QUERY_SECONDS": "60", "SERVERFLOW_WORKER_SQS_WAIT_SECONDS": "3"}


def pending_after_creation(client: httpx.Client, run_id: str) -> float:
    """Server-side create -> PENDING: the PENDING state's timestamp minus the SCHEDULED one."""
    states = {
        s["type"]: datetime.fromisoformat(s["timestamp"])
        for s in ok(client.get("/flow_run_states/", params={"flow_run_id": run_id}))
    }
    return (states["PENDING"] - states["SCHEDULED"]).total_seconds()


def test_create_flow_run_reaches_a_waiting_worker_through_sqs(
    client: httpx.Client, api_url: str, aws_endpoint_url: str, tmp_path: Path, record_property: object
) -> None:
    pool = create_pool(client)["name"]
    deployment = create_deployment(client, pool, tmp_path / "project")
    log = tmp_path / "worker.log"
    worker = start_worker(pool, worker_env(api_url, aws_endpoint_url, tmp_path, **PUSH_ONLY), log)
    try:
        wait_for(
            lambda: "mode: SQS long polling" in log.read_text() and "started on pool" in log.read_text(), timeout=30
        )
        time.sleep(0.5)  # inside its first long poll; its first API poll comes only after that poll returns

        created_at = time.monotonic()
        run = ok(client.post(f"/deployments/{deployment['id']}/create_flow_run", json={"parameters": {"x": 4}}))
        assert run["state_type"] == "SCHEDULED"
        left = wait_for(
            lambda: (r := read_run(client, run["id"]))["state_type"] != "SCHEDULED" and r,
            timeout=PUSH_BOUND_SECONDS,
            interval=0.02,
        )
        observed = time.monotonic() - created_at
        assert left["state_type"] in ("PENDING", "RUNNING", "COMPLETED")
        assert wait_for_state(client, run["id"], "COMPLETED", timeout=30)
    finally:
        assert stop(worker) == 0, log.read_text()[-3000:]

    server_side = pending_after_creation(client, run["id"])
    print(
        f"\npush latency: create -> PENDING {server_side * 1000:.0f} ms (server clock), "
        f"create -> seen non-SCHEDULED {observed * 1000:.0f} ms (client)",
        file=sys.stderr,
    )
    record_property("push_create_to_pending_ms", round(server_side * 1000))
    record_property("push_create_to_observed_ms", round(observed * 1000))
    assert server_side < PUSH_BOUND_SECONDS
