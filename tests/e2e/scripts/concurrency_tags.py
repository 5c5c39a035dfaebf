"""Real prefect client: 5 concurrent tasks share a tag whose limit is 2 (the 3.9.1 engine
takes `tag:<tag>` slots through the v2 lease routes). Prints the task runs' RUNNING
intervals, read back from the server, as one JSON line.

argv: <tag>
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from prefect import flow, get_client, task
from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterFlowRunId

TAG = sys.argv[1]


@task(tags=[TAG])
def hold(i: int) -> int:
    time.sleep(1.5)
    return i


@flow(name="tag-limited")
def tagged() -> list[int]:
    futures = [hold.submit(i) for i in range(5)]
    return [f.result() for f in futures]


async def intervals(flow_run_id: Any) -> list[dict[str, Any]]:
    async with get_client() as client:
        deadline = time.monotonic() + 60
        while True:
            runs = await client.read_task_runs(
                task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id]))
            )
            done = [r for r in runs if r.state_type is not None and r.state_type.value == "COMPLETED"]
            if len(done) >= 5 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        found = []
        for run in runs:
            states = await client.read_task_run_states(run.id)
            running = [s.timestamp for s in states if s.type.value == "RUNNING"]
            ended = [s.timestamp for s in states if s.type.value == "COMPLETED"]
            found.append(
                {
                    "id": str(run.id),
                    "state": run.state_type.value if run.state_type else None,
                    "running": running[0].isoformat() if running else None,
                    "completed": ended[-1].isoformat() if ended else None,
                }
            )
        limit = await client.read_global_concurrency_limit_by_name(f"tag:{TAG}")
        return found, limit.active_slots


def main() -> None:
    state = tagged(return_state=True)
    runs, active_after = asyncio.run(intervals(state.state_details.flow_run_id))
    sys.stdout.write(
        "\n"
        + json.dumps(
            {"flow_state": state.type.value, "result": state.result(), "task_runs": runs, "active_after": active_after}
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
