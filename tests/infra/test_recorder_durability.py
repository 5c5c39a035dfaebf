"""Task-run events acknowledged by POST /events are recorded even if the stack stops right after the answer.

Ingestion only stores the events (journaled, fsynced before the 204); the task-run recorder takes them from
the table's stream afterwards. Killing the stack and its emulator with SIGKILL right after the 204 (one
request of 150 task runs' events, which the recorder needs a while to record) and restarting on the same
data directory must still end with every task run recorded: the emulator regenerates the stream records
when it replays its journal, and the recorder (StartingPosition TRIM_HORIZON, idempotent) takes them again.
A graceful stop right after the 204 marks the recorder caught up (after draining what it had not taken yet),
so the next start begins at the newest record instead of replaying (infra/local/streams.py): those task runs
must be recorded too, and the marker is gone once the stack runs again.
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

from infra.local.streams import CAUGHT_UP_MARKER
from tests.stack_process import StackProcess
from tests.support.events import lifecycle, running_flow_run, utc_now

TASK_RUNS = 150
RECORDED_DEADLINE_SECONDS = 90.0


def _start(data: Path) -> StackProcess:
    return StackProcess(extra_args=["--data-dir", str(data), "--no-schedules"]).start(timeout=120)


def _post_task_runs(client: httpx.Client, flow_run_id: str) -> list[str]:
    """One request with TASK_RUNS task runs' Pending/Running/Completed events; their ids once acknowledged."""
    start = utc_now() - datetime.timedelta(seconds=30)
    ids = [str(uuid.uuid4()) for _ in range(TASK_RUNS)]
    events = [
        event for task_run_id in ids for event in lifecycle(task_run_id, flow_run_id, start, dynamic_key=task_run_id)
    ]
    acknowledged = client.post("/events", json=events)
    assert acknowledged.status_code == 204, acknowledged.text
    return ids


def _wait_recorded(api_url: str, ids: list[str]) -> None:
    with httpx.Client(base_url=api_url, timeout=60) as client:
        deadline = time.monotonic() + RECORDED_DEADLINE_SECONDS
        while True:
            runs = client.post("/task_runs/filter", json={"task_runs": {"id": {"any_": ids}}, "limit": 200}).json()
            completed = sum(run["state_type"] == "COMPLETED" for run in runs)
            # The run items first, then the state history, the last run's last.
            history = [s["type"] for s in client.get("/task_run_states/", params={"task_run_id": ids[-1]}).json()]
            if (completed, len(history)) == (len(ids), 3) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert completed == len(ids), f"{completed} of {len(ids)} acknowledged task runs recorded after the restart"
    assert history == ["PENDING", "RUNNING", "COMPLETED"]


@pytest.mark.timeout(600)  # three stack starts on a 2-core box
def test_task_run_events_acknowledged_before_a_kill_9_or_a_stop_are_recorded_after_the_restart(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    stack = _start(data)
    try:
        with httpx.Client(base_url=stack.api_url, timeout=60) as client:
            flow_run = running_flow_run(client)
            killed = _post_task_runs(client, flow_run["id"])
        # kill -9, stack and emulator at once, as soon as the events are acknowledged.
        assert stack.process is not None
        os.kill(stack.emulator_pid(), signal.SIGKILL)
        stack.process.send_signal(signal.SIGKILL)
        stack.process.wait(timeout=30)
        assert not (data / CAUGHT_UP_MARKER).exists()

        stack = _start(data)
        _wait_recorded(stack.api_url, killed)
        with httpx.Client(base_url=stack.api_url, timeout=60) as client:
            stopped = _post_task_runs(client, flow_run["id"])
        assert stack.stop() == 0
        assert (data / CAUGHT_UP_MARKER).exists()

        stack = _start(data)
        assert not (data / CAUGHT_UP_MARKER).exists()  # a crash from now on replays again
        _wait_recorded(stack.api_url, stopped)
    finally:
        stack.stop()
