"""Four drain-mode workers, 50 runs, every hint delivered three times: each run executes exactly once."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.worker.support import (
    create_deployment,
    create_pool,
    create_run,
    hint_body,
    pool_queue_url,
    read_run,
    sqs,
    start_worker,
    worker_env,
)

RUNS = 50
WORKERS = 4


def test_four_workers_fifty_runs_duplicate_messages_execute_each_run_once(
    client: httpx.Client, api_url: str, aws_endpoint_url: str, tmp_path: Path
) -> None:
    pool = create_pool(client)
    deployment = create_deployment(client, pool["name"], tmp_path / "project")
    marker = tmp_path / "executed.txt"
    runs = [create_run(client, deployment["id"], x=i, marker=str(marker))["id"] for i in range(RUNS)]
    queue_url = pool_queue_url(aws_endpoint_url, pool)
    queue = sqs(aws_endpoint_url)
    for start in range(0, RUNS, 5):  # two extra copies of every hint
        entries = [
            {"Id": f"d{i}-{copy}", "MessageBody": hint_body(run_id, pool["name"])}
            for i, run_id in enumerate(runs[start : start + 5], start)
            for copy in range(2)
        ]
        assert not queue.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed")

    env = worker_env(api_url, aws_endpoint_url, tmp_path)
    started = time.monotonic()
    workers = [start_worker(pool["name"], env, tmp_path / f"worker-{n}.log", "--once", "--limit", "3") for n in range(WORKERS)]
    codes = [w.wait(timeout=150) for w in workers]
    logs = "\n".join((tmp_path / f"worker-{n}.log").read_text() for n in range(WORKERS))
    assert codes == [0] * WORKERS, logs[-5000:]

    executed = marker.read_text().split()
    assert len(executed) == len(set(executed)), "a run was executed twice"
    assert sorted(executed) == sorted(runs)
    states = {read_run(client, run_id)["state_type"] for run_id in runs}
    assert states == {"COMPLETED"}, logs[-5000:]
    # Every worker took part, and duplicates were recognised as lost claims.
    assert all(f"worker-{n}.log" for n in range(WORKERS))
    assert "skipping flow run" in logs
    assert time.monotonic() - started < 120
