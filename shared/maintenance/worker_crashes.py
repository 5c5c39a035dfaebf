"""Runs of a worker that went OFFLINE (killed mid-run, lost its host) become CRASHED, and go back to
SCHEDULED "AwaitingRetry" when their retries allow; called from the worker-expiry tick.

Which runs: PENDING/RUNNING runs (the flow runs' by-state index, GSI5, the same read the pool slot
counts use; no Scan) whose labels name the worker and its pool. Workers set
`prefect.worker.name` / `prefect.work-pool.name` on every run they claim (serverflow and prefect
workers alike), and a worker name is unique per process, so a label match is that process's run.

Transitions are orchestrated, never forced: a run that reached a final state on its own in the
meantime stays as it is. The retry decision mirrors RetryFailedFlows (run_count <= retries), and
the rescheduled run is sent to its pool's queue like any run that becomes SCHEDULED.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from shared.dispatch.dispatcher import dispatch_new_run
from shared.schemas.base import now_utc
from shared.schemas.flow_runs import FlowRun
from shared.schemas.states import StateCreate, StateDetails, StateType
from shared.storage import flow_runs as flow_run_store
from shared.storage import run_lifecycle
from shared.storage import workers as worker_store
from shared.storage.errors import ObjectNotFound

logger = logging.getLogger("serverflow.maintenance.worker_crashes")

WORKER_LABEL = "prefect.worker.name"
POOL_LABEL = "prefect.work-pool.name"
ACTIVE_STATES = (StateType.PENDING, StateType.RUNNING)


@dataclass
class CrashResult:
    runs_crashed: int = 0
    runs_rescheduled: int = 0


def runs_of_workers(workers: set[tuple[str, str]]) -> list[FlowRun]:
    """Active runs labelled with one of the (pool name, worker name) pairs."""
    if not workers:
        return []
    found: list[FlowRun] = []
    for state_type in ACTIVE_STATES:
        for run in flow_run_store.read_in_state(state_type):
            labels = run.labels or {}
            if (labels.get(POOL_LABEL), labels.get(WORKER_LABEL)) in workers:
                found.append(run)
    return found


def _may_retry(run: FlowRun) -> bool:
    policy = run.empirical_policy
    return bool(run.deployment_id) and policy.retries is not None and run.run_count <= policy.retries


def crash_run(run: FlowRun, now: datetime.datetime, result: CrashResult) -> None:
    labels = run.labels or {}
    message = (
        f"Worker {labels.get(WORKER_LABEL)!r} of work pool {labels.get(POOL_LABEL)!r} stopped heartbeating "
        "while this run was in progress; its process is presumed dead."
    )
    try:
        outcome = run_lifecycle.set_flow_run_state(
            run.id, StateCreate(type=StateType.CRASHED, name="Crashed", message=message)
        )
    except ObjectNotFound:
        return
    if not outcome.write or outcome.run.state_type != StateType.CRASHED:
        return  # finished (or changed) on its own since the index was read
    result.runs_crashed += 1
    if not _may_retry(outcome.run):
        return
    delay = datetime.timedelta(seconds=outcome.run.empirical_policy.retry_delay or 0)
    retry = StateCreate(
        type=StateType.SCHEDULED,
        name="AwaitingRetry",
        message="Rescheduled after its worker crashed.",
        state_details=StateDetails(scheduled_time=now + delay),
    )
    rescheduled = run_lifecycle.set_flow_run_state(run.id, retry)
    if rescheduled.write and rescheduled.run.state_type == StateType.SCHEDULED:
        result.runs_rescheduled += 1
        dispatch_new_run(rescheduled.run, now)


def crash_runs_of_workers(workers: Iterable[tuple[str, str]], now: datetime.datetime | None = None) -> CrashResult:
    stamp = now or now_utc()
    result = CrashResult()
    for run in runs_of_workers(set(workers)):
        try:
            crash_run(run, stamp, result)
        except Exception:
            logger.exception("Could not crash flow run %s of an offline worker", run.id)
    if result.runs_crashed:
        logger.info("offline workers' runs: %s", result)
    return result


def expire_workers(now: datetime.datetime | None = None) -> dict[str, Any]:
    """The worker-expiry tick: stale workers go OFFLINE (storage.workers.expire), then their runs crash."""
    stamp = now or now_utc()
    expired = worker_store.expire(stamp)
    crashed = crash_runs_of_workers(expired.offline_workers, stamp)
    summary = {**asdict(expired), **asdict(crashed)}
    summary["offline_workers"] = [f"{pool}/{name}" for pool, name in expired.offline_workers]
    return summary
