"""What goes on a work pool's SQS queue, and when: pure functions, no I/O.

A message is a wake-up hint for the pool's workers, delivered at least once: it names the
run and where it belongs. The lock is the orchestrated SCHEDULED -> PENDING transition, so a
duplicate or late message costs one rejected claim, never a second execution.
"""

from __future__ import annotations

import datetime
import json
import math
from typing import Any

from shared.schemas.flow_runs import FlowRun
from shared.schemas.states import StateType
from shared.schemas.work_pools import WorkPool, WorkQueue

MESSAGE_TYPE = "serverflow.flow_run.due"
MESSAGE_VERSION = 1
# SQS caps DelaySeconds at 15 minutes; later runs are sent by the scheduler once inside it.
MAX_DELAY_SECONDS = 900
DISPATCH_WINDOW = datetime.timedelta(seconds=MAX_DELAY_SECONDS)


# A run due within this long is sent at once: workers ask for runs due within their prefetch window
# (10 s), so it is handed out anyway. Rounding up instead cost every run created for "now" a whole second
# (its scheduled time is stamped microseconds after the `now` it is dispatched with).
SEND_NOW_WITHIN_SECONDS = 1.0


def delay_seconds(due: datetime.datetime | None, now: datetime.datetime) -> int:
    """Seconds until `due`, rounded up so a message never arrives more than a second early; 0 if due
    within a second; capped at 900."""
    if due is None:
        return 0
    remaining = (due - now).total_seconds()
    if remaining <= SEND_NOW_WITHIN_SECONDS:
        return 0
    return max(0, min(MAX_DELAY_SECONDS, math.ceil(remaining)))


def skip_reason(run: FlowRun, pool: WorkPool, queue: WorkQueue | None, now: datetime.datetime) -> str | None:
    """Why this run must not be sent now (None: send it)."""
    if run.state_type != StateType.SCHEDULED:
        return f"run is {run.state_type}, not SCHEDULED"
    if pool.is_paused:
        return "work pool is paused"
    if queue is not None and queue.is_paused:
        return "work queue is paused"
    due = run.next_scheduled_start_time
    if due is not None and due - now > DISPATCH_WINDOW:
        return "due beyond the 15-minute delay window (the scheduler sends it later)"
    return None


def message_body(run: FlowRun, pool: WorkPool, queue: WorkQueue | None, now: datetime.datetime) -> dict[str, Any]:
    due = run.next_scheduled_start_time
    return {
        "type": MESSAGE_TYPE,
        "version": MESSAGE_VERSION,
        "flow_run_id": str(run.id),
        "flow_id": str(run.flow_id),
        "deployment_id": str(run.deployment_id) if run.deployment_id else None,
        "work_pool_id": str(pool.id),
        "work_pool_name": pool.name,
        "work_queue_id": str(queue.id) if queue else (str(run.work_queue_id) if run.work_queue_id else None),
        "work_queue_name": queue.name if queue else run.work_queue_name,
        "work_queue_priority": queue.priority if queue else None,
        "scheduled_time": due.isoformat() if due else None,
        "sent_at": now.isoformat(),
    }


def send_message_request(
    run: FlowRun, pool: WorkPool, queue: WorkQueue | None, now: datetime.datetime
) -> dict[str, Any]:
    """Keyword arguments for SQS SendMessage (and one SendMessageBatch entry, plus an Id)."""
    return {
        "MessageBody": json.dumps(message_body(run, pool, queue, now), separators=(",", ":")),
        "DelaySeconds": delay_seconds(run.next_scheduled_start_time, now),
        "MessageAttributes": {
            "flow_run_id": {"DataType": "String", "StringValue": str(run.id)},
            "type": {"DataType": "String", "StringValue": MESSAGE_TYPE},
        },
    }
