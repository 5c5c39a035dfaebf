"""Task-run events acknowledged by POST /events are recorded even if the stack dies right after the answer.

Ingestion only stores the events (journaled, fsynced before the 204); the task-run recorder takes them from
the table's stream afterwards. Killing the stack and its emulator with SIGKILL right after the 204 (one
request of 150 task runs' events, which the recorder needs a while to record) and restarting on the same
data directory must still end with every task run recorded: the emulator regenerates the stream records
when it replays its journal, and the recorder (StartingPosition TRIM_HORIZON, idempotent) takes them again.
"""

from __future__ import annotations

import datetime
import os
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.stack_process import StackProcess
from tests.support.events import lifecycle, running_flow_run, utc_now

TASK_RUNS = 150
RECORDED_DEADLINE_SECONDS = 90.0


def _start(data: Path) -> StackProcess:
    return StackProcess(extra_args=["--data-dir", str(data), "--no-schedules"]).start(timeout=120)


def _completed(client: httpx.Client, flow_run_id: str) -> int:
    body = {"flow_runs": {"id": {"any_": [flow_run_id]}}, "task_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}
    return int(client.post("/task_runs/count", json=body).json())


@pytest.mark.timeout(600)  # two stack starts on a 2-core box
def test_task_run_events_acknowledged_before_a_kill_9_are_recorded_after_the_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    stack = _start(data)
    try:
        with httpx.Client(base_url=stack.api_url, timeout=60) as client:
            flow_run = running_flow_run(client)
            start = utc_now() - datetime.timedelta(seconds=30)
            ids = [str(uuid.uuid4()) for _ in range(TASK_RUNS)]
            events = [
                event
                for n, task_run_id in enumerate(ids)
                for event in lifecycle(task_run_id, flow_run["id"], start, dynamic_key=str(n))
            ]
            acknowledged = client.post("/events", json=events)
            # kill -9, stack and emulator at once, as soon as the events are acknowledged.
            assert stack.process is not None
            os.kill(stack.emulator_pid(), signal.SIGKILL)
            stack.process.send_signal(signal.SIGKILL)
            stack.process.wait(timeout=30)
        assert acknowledged.status_code == 204, acknowledged.text

        stack = _start(data)
        with httpx.Client(base_url=stack.api_url, timeout=60) as client:
            deadline = time.monotonic() + RECORDED_DEADLINE_SECONDS
            while True:
                found = _completed(client, flow_run["id"])
                # The run items first, then the state history, the last run's last.
                history = [s["type"] for s in client.get("/task_run_states/", params={"task_run_id": ids[-1]}).json()]
                if (found, len(history)) == (TASK_RUNS, 3) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert found == TASK_RUNS, f"{found} of {TASK_RUNS} acknowledged task runs recorded after the restart"
            assert history == ["PENDING", "RUNNING", "COMPLETED"]
    finally:
        stack.stop()
