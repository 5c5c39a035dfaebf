"""Four drain-mode workers, 50 runs, every hint delivered three times: each run executes exactly once."""

from __future__ import annotations

import re
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
    workers = [
        start_worker(pool["name"], env, tmp_path / f"worker-{n}.log", "--once", "--limit", "3") for n in range(WORKERS)
    ]
    codes = [w.wait(timeout=240) for w in workers]  # a hang guard (under pytest-timeout), not a speed target
    worker_logs = [(tmp_path / f"worker-{n}.log").read_text() for n in range(WORKERS)]
    logs = "\n".join(worker_logs)
    assert codes == [0] * WORKERS, logs[-5000:]

    executed = marker.read_text().split()
    assert len(executed) == len(set(executed)), "a run was executed twice"
    assert sorted(executed) == sorted(runs)
    states = {read_run(client, run_id)["state_type"] for run_id in runs}
    assert states == {"COMPLETED"}, logs[-5000:]
    # Each worker reports the runs it executed as it exits: together exactly one execution per run
    # (the duplicate hints were recognised as lost claims, not run again).
    done = [re.search(r"exiting after (\d+) run\(s\)", text) for text in worker_logs]
    assert all(done), logs[-5000:]
    assert sum(int(match.group(1)) for match in done if match) == RUNS, logs[-5000:]
    assert "skipping flow run" in logs
