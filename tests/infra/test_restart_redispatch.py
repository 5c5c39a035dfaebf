"""Issue #14: after a kill -9 and restart on the same data directory, a work pool's SQS queue exists
again (its creation was journaled) and the pool's due scheduled run is sent to it again (SQS messages
are wake-up hints the journal does not keep), so an SQS-fed worker is woken, not left waiting."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import httpx

from tests.aws_env import emulator_client
from tests.stack_process import StackProcess


def _messages(aws_endpoint_url: str, pool_id: str) -> list[dict]:
    sqs = emulator_client("sqs", aws_endpoint_url)
    url = sqs.get_queue_url(QueueName=f"serverflow-pool-{pool_id}")["QueueUrl"]
    return [
        json.loads(m["Body"])
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    ]


def test_a_restored_pool_has_its_queue_and_its_due_run_is_sent_again(tmp_path: Path) -> None:
    args = ["--data-dir", str(tmp_path / "data"), "--no-schedules"]
    first = StackProcess(extra_args=args).start()
    api = first.api_url
    pool = httpx.post(f"{api}/work_pools/", json={"name": "restored-pool", "type": "process"}).json()
    flow = httpx.post(f"{api}/flows/", json={"name": "restored-flow"}).json()
    run = httpx.post(
        f"{api}/flow_runs/",
        json={
            "flow_id": flow["id"],
            "work_pool_name": pool["name"],
            "state": {"type": "SCHEDULED", "name": "Scheduled"},
        },
    ).json()
    assert any(str(m.get("flow_run_id")) == run["id"] for m in _messages(first.aws_endpoint_url, pool["id"]))
    emulator = next(
        int(m.group(1))
        for line in first.startup + first.output
        if (m := re.match(r"AWS emulator: \S+ \(pid (\d+)\)", line))
    )
    assert first.process is not None
    first.process.send_signal(signal.SIGKILL)
    os.kill(emulator, signal.SIGKILL)
    first.process.wait(timeout=30)

    second = StackProcess(extra_args=args).start()
    try:
        assert any(line.startswith("Re-sent 1 due runs") for line in second.output), second.output
        bodies = _messages(second.aws_endpoint_url, pool["id"])
        assert any(str(m.get("flow_run_id")) == run["id"] for m in bodies), bodies
        scheduled = httpx.post(f"{second.api_url}/work_pools/{pool['name']}/get_scheduled_flow_runs", json={})
        assert scheduled.status_code == 200
        assert [r["flow_run"]["id"] for r in scheduled.json()] == [run["id"]]
    finally:
        second.stop()
