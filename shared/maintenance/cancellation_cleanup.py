"""The cancellation-cleanup tick ("no run left CANCELLING"):

1. a run in CANCELLING longer than SERVERFLOW_CANCELLING_TIMEOUT_SECONDS is moved to
   CANCELLED through the orchestrated set_state (the worker that should have done it is
   gone), and its children follow at once;
2. runs cancelled during the last day (by a worker, a user or step 1) have their unfinished
   task runs force-CANCELLED and their unfinished subflows moved on (CANCELLING when the
   subflow has its own deployment/infrastructure, CANCELLED when in-process), recursively.

Reads: CANCELLING and recent CANCELLED runs by state (GSI5, the CANCELLED range bounded by
id time), a run's task runs (by flow run), subflows by parent task run (GSI3). No Scan.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from uuid import UUID

from shared.config import get_settings
from shared.orchestration import maintenance_rules as rules
from shared.schemas.base import now_utc
from shared.schemas.filters.runs import FlowRunFilter, FlowRunFilterParentTaskRunId
from shared.schemas.flow_runs import FlowRun
from shared.schemas.states import StateType
from shared.storage import flow_runs as flow_run_store
from shared.storage import queries, run_lifecycle
from shared.storage import task_runs as task_run_store
from shared.storage.errors import ObjectNotFound

logger = logging.getLogger("serverflow.maintenance.cancellation_cleanup")

# Subflows of subflows of ...: deep enough for real nesting, bounded against cycles.
MAX_DEPTH = 10
# How far back (by run creation time) recent CANCELLED runs are looked for.
CREATED_LOOKBACK = datetime.timedelta(days=7)


@dataclass
class CleanupResult:
    timed_out: int = 0
    task_runs_cancelled: int = 0
    subflows_moved: int = 0


def _subflows(task_run_ids: list[UUID]) -> list[FlowRun]:
    if not task_run_ids:
        return []
    query = FlowRunFilter(parent_task_run_id=FlowRunFilterParentTaskRunId(any_=task_run_ids))
    return queries.filter_flow_runs(flow_runs=query)


def cascade(run: FlowRun, result: CleanupResult, depth: int = 0) -> None:
    """Move a cancelled run's unfinished task runs and subflows on."""
    unfinished = [t for t in task_run_store.list_for_flow_run(run.id) if rules.is_unfinished(t.state_type)]
    # Subflows first: their parent task runs are among the unfinished ones.
    for subflow in _subflows([t.id for t in unfinished]):
        proposed = rules.subflow_state(subflow)
        if proposed is None:
            continue
        try:
            outcome = run_lifecycle.set_flow_run_state(subflow.id, proposed)
        except ObjectNotFound:
            continue
        if outcome.write:
            result.subflows_moved += 1
            if outcome.run.state_type == StateType.CANCELLED and depth < MAX_DEPTH:
                cascade(outcome.run, result, depth + 1)
    for task_run in unfinished:
        try:
            task_outcome = task_run_store.set_state(task_run.id, rules.child_task_run_state(), force=True)
        except ObjectNotFound:
            continue
        result.task_runs_cancelled += task_outcome.write


def cancel_timed_out(now: datetime.datetime, timeout: datetime.timedelta, result: CleanupResult) -> None:
    for run in flow_run_store.read_in_state(StateType.CANCELLING):
        if not rules.cancelling_timed_out(run, now, timeout):
            continue
        try:
            outcome = run_lifecycle.set_flow_run_state(run.id, rules.timeout_cancelled_state())
        except ObjectNotFound:
            continue
        if outcome.write and outcome.run.state_type == StateType.CANCELLED:
            result.timed_out += 1
            cascade(outcome.run, result)


def sweep_recently_cancelled(now: datetime.datetime, result: CleanupResult) -> None:
    since = now - rules.CANCELLED_SWEEP_WINDOW
    for run in flow_run_store.read_in_state(StateType.CANCELLED, created_after=now - CREATED_LOOKBACK):
        if run.end_time is not None and run.end_time >= since:
            cascade(run, result)


def tick(now: datetime.datetime | None = None, timeout_seconds: int | None = None) -> CleanupResult:
    now = now or now_utc()
    seconds = timeout_seconds if timeout_seconds is not None else get_settings().cancelling_timeout_seconds
    result = CleanupResult()
    cancel_timed_out(now, datetime.timedelta(seconds=seconds), result)
    sweep_recently_cancelled(now, result)
    return result
