"""Pure rules of the maintenance functions: which runs are late, which CANCELLING runs
timed out, what happens to the children of a cancelled run. No I/O; the glue in
shared/maintenance reads, asks these, and proposes the states through set_state.
"""

from __future__ import annotations

import datetime
import os

from shared.schemas.flow_runs import FlowRun
from shared.schemas.states import TERMINAL_STATES, StateCreate, StateDetails, StateType

# Reference: server.services.late_runs.after_seconds (default 15 s).
LATE_AFTER = datetime.timedelta(seconds=float(os.environ.get("SERVERFLOW_LATE_RUNS_AFTER_SECONDS", "15")))
CANCELLING_TIMEOUT_MESSAGE = "Flow run cancellation timed out; marked this flow run as Cancelled."
PARENT_CANCELLED_MESSAGE = "The parent flow run was cancelled."
# Cancelled runs whose children are still swept (the reference looks one day back).
CANCELLED_SWEEP_WINDOW = datetime.timedelta(days=1)


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def is_late(run: FlowRun, now: datetime.datetime, after: datetime.timedelta = LATE_AFTER) -> bool:
    """Still plain "Scheduled" (not AwaitingRetry, not already Late) and past due by `after`."""
    if run.state_type != StateType.SCHEDULED or run.state_name != "Scheduled":
        return False
    start = run.next_scheduled_start_time
    return start is not None and _utc(start) <= _utc(now) - after


def late_state(run: FlowRun) -> StateCreate:
    return StateCreate(
        type=StateType.SCHEDULED,
        name="Late",
        state_details=StateDetails(scheduled_time=run.next_scheduled_start_time),
    )


def cancelling_timed_out(run: FlowRun, now: datetime.datetime, timeout: datetime.timedelta) -> bool:
    """In CANCELLING for longer than `timeout` (measured from the CANCELLING state's timestamp)."""
    if run.state_type != StateType.CANCELLING or run.state is None:
        return False
    return _utc(run.state.timestamp) + timeout <= _utc(now)


def timeout_cancelled_state() -> StateCreate:
    return StateCreate(type=StateType.CANCELLED, message=CANCELLING_TIMEOUT_MESSAGE)


def child_task_run_state() -> StateCreate:
    """Forced onto a cancelled run's unfinished task runs (the reference forces it too)."""
    return StateCreate(type=StateType.CANCELLED, message=PARENT_CANCELLED_MESSAGE)


def subflow_state(subflow: FlowRun) -> StateCreate | None:
    """What a cancelled run's unfinished subflow is moved to, or None to leave it.

    A subflow with its own deployment runs on its own infrastructure: it goes CANCELLING so
    its worker stops it (and the timeout catches it if none does); an in-process subflow is
    simply CANCELLED.
    """
    if subflow.state_type is None or subflow.state_type in TERMINAL_STATES:
        return None
    if subflow.deployment_id is not None:
        if subflow.state_type == StateType.CANCELLING:
            return None
        return StateCreate(type=StateType.CANCELLING, message=PARENT_CANCELLED_MESSAGE)
    return StateCreate(type=StateType.CANCELLED, message=PARENT_CANCELLED_MESSAGE)


def is_unfinished(state_type: StateType | None) -> bool:
    return state_type is not None and state_type not in TERMINAL_STATES
