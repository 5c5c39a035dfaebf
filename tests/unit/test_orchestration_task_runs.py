"""Task-run orchestration: enclosing flow, retries, terminal states, reruns, force."""

from __future__ import annotations

import datetime
import random

import pytest

from shared.orchestration import orchestrate_task_run
from shared.orchestration.task_rules import retry_delay_seconds
from shared.schemas.responses import SetStateStatus
from shared.schemas.states import StateType
from shared.schemas.task_runs import TaskRunPolicy
from tests.unit.orchestration_helpers import NOW, at, flow_run, propose, state, task_run

NOT_RUNNING = "The enclosing flow must be running to begin task execution."


@pytest.mark.parametrize("flow_state", [None, "PENDING", "SCHEDULED", "COMPLETED", "CANCELLING"])
def test_task_cannot_start_unless_flow_is_running(flow_state: str | None) -> None:
    flow = flow_run(state(flow_state) if flow_state else None)
    task = task_run(state("PENDING"), flow_run_id=flow.id)
    out = orchestrate_task_run(task, propose("RUNNING"), flow_run=flow, now=NOW)
    assert (out.status, out.write, out.http_status) == (SetStateStatus.ABORT, False, 200)
    assert out.details.model_dump() == {"type": "abort_details", "reason": NOT_RUNNING}


def test_task_of_paused_flow_is_paused_not_ready() -> None:
    flow = flow_run(state("PAUSED", pause_timeout=at(600), pause_reschedule=False))
    task = task_run(state("PENDING"), flow_run_id=flow.id)
    out = orchestrate_task_run(task, propose("RUNNING"), flow_run=flow, now=NOW)
    assert out.status == SetStateStatus.REJECT and out.write
    assert out.state is not None and (out.state.type, out.state.name) == (StateType.PAUSED, "NotReady")
    assert out.state.state_details.pause_timeout == at(600)
    assert out.details.reason == (f"The flow is paused, new tasks can execute after resuming flow run: {flow.id}.")


def test_task_starts_in_running_flow_and_tracks_flow_attempt() -> None:
    flow = flow_run(state("RUNNING"), run_count=2)
    task = task_run(state("PENDING", timestamp=at(-1)), flow_run_id=flow.id)
    out = orchestrate_task_run(task, propose("RUNNING"), flow_run=flow, now=NOW)
    assert out.status == SetStateStatus.ACCEPT
    assert out.run.run_count == 1 and out.run.flow_run_run_count == 2
    assert out.run.start_time == NOW
    assert out.state is not None
    assert out.state.state_details.task_run_id == task.id
    assert out.state.state_details.flow_run_id == flow.id


def test_task_retry_cycle() -> None:
    flow = flow_run(state("RUNNING"), run_count=1)
    policy = TaskRunPolicy(retries=1, retry_delay=[2, 7])
    task = task_run(state("RUNNING", timestamp=at(-1)), flow_run_id=flow.id, run_count=1, empirical_policy=policy)
    out = orchestrate_task_run(task, propose("FAILED"), flow_run=flow, now=NOW)
    assert out.status == SetStateStatus.REJECT
    assert out.details.reason == "Retrying"
    assert out.state is not None and out.state.name == "AwaitingRetry"
    assert out.state.state_details.scheduled_time == at(2)

    early = orchestrate_task_run(out.run, propose("RUNNING"), flow_run=flow, now=at(1))
    assert early.status == SetStateStatus.WAIT and early.details.delay_seconds == 1

    again = orchestrate_task_run(out.run, propose("RUNNING"), flow_run=flow, now=at(2))
    assert again.state is not None and again.state.name == "Retrying"
    assert again.run.run_count == 2

    final = orchestrate_task_run(again.run, propose("FAILED"), flow_run=flow, now=at(3))
    assert final.status == SetStateStatus.ACCEPT and final.run.state_type == StateType.FAILED


def test_non_retriable_failure_is_accepted() -> None:
    task = task_run(state("RUNNING"), run_count=1, empirical_policy=TaskRunPolicy(retries=3))
    out = orchestrate_task_run(task, propose("FAILED", retriable=False), now=NOW)
    assert out.status == SetStateStatus.ACCEPT


def test_retry_jitter_stays_in_bounds() -> None:
    task = task_run(run_count=1, empirical_policy=TaskRunPolicy(retries=1, retry_delay=10, retry_jitter_factor=0.5))
    rng = random.Random(0)
    delays = [retry_delay_seconds(task, rng) for _ in range(200)]
    assert all(5 <= d <= 15 for d in delays) and len(set(delays)) > 1


def test_rerun_without_awaiting_retry_is_rerunning() -> None:
    task = task_run(state("PENDING"), run_count=1)
    out = orchestrate_task_run(task, propose("RUNNING"), now=NOW)
    assert out.state is not None and out.state.name == "Rerunning"


@pytest.mark.parametrize("target", ["CANCELLING", "PAUSED", "CRASHED"])
def test_terminal_task_cannot_crash_pause_or_cancel(target: str) -> None:
    out = orchestrate_task_run(task_run(state("FAILED")), propose(target), now=NOW)
    assert out.status == SetStateStatus.ABORT
    assert out.details.reason == "Run is already FAILED."


def test_completed_task_with_result_is_not_rerun() -> None:
    done = state("COMPLETED")
    done.data = {"type": "reference"}
    out = orchestrate_task_run(task_run(done), propose("RUNNING"), now=NOW)
    assert out.status == SetStateStatus.REJECT
    assert out.details.reason == "This run is already completed."


def test_flow_retry_reruns_failed_task_with_fresh_retries() -> None:
    flow = flow_run(state("RUNNING"), run_count=2)
    task = task_run(
        state("FAILED", timestamp=at(-5)), flow_run_id=flow.id, run_count=3, flow_run_run_count=1, end_time=at(-5)
    )
    out = orchestrate_task_run(task, propose("RUNNING"), flow_run=flow, now=NOW)
    assert out.status == SetStateStatus.ACCEPT
    assert out.state is not None and out.state.name == "Retrying"
    assert out.run.run_count == 1  # reset to 0 then incremented
    assert out.run.end_time is None and out.run.flow_run_run_count == 2


def test_terminal_task_reset_is_undone_when_later_rule_aborts() -> None:
    flow = flow_run(state("PENDING"))
    task = task_run(state("FAILED"), flow_run_id=flow.id, run_count=3)
    out = orchestrate_task_run(task, propose("RUNNING"), flow_run=flow, now=NOW)
    assert out.status == SetStateStatus.ABORT and out.run.run_count == 3


def test_force_skips_task_rules() -> None:
    flow = flow_run(state("PENDING"))
    task = task_run(state("COMPLETED", timestamp=at(-2)), flow_run_id=flow.id, end_time=at(-2))
    out = orchestrate_task_run(task, propose("RUNNING"), force=True, flow_run=flow, now=NOW)
    assert out.status == SetStateStatus.ACCEPT and out.run.end_time is None
    assert out.run.total_run_time == datetime.timedelta(0)


def test_subflow_parent_state_applied_to_parent_task() -> None:
    from shared.orchestration import orchestrate_flow_run

    parent_flow = flow_run(state("RUNNING"), run_count=1)
    parent_task = task_run(state("PENDING", timestamp=at(-1)), flow_run_id=parent_flow.id)
    child = flow_run(state("PENDING", timestamp=at(-1)), parent_task_run_id=parent_task.id)
    child_out = orchestrate_flow_run(child, propose("RUNNING"), now=NOW)
    assert child_out.parent_task_run_state is not None
    out = orchestrate_task_run(parent_task, child_out.parent_task_run_state, force=True, now=NOW)
    assert out.status == SetStateStatus.ACCEPT and out.state is not None
    details = out.state.state_details
    assert (details.flow_run_id, details.task_run_id, details.child_flow_run_id) == (
        parent_flow.id,
        parent_task.id,
        child.id,
    )
    assert out.run.run_count == 1 and out.run.state_type == StateType.RUNNING


def test_background_task_without_flow_may_run() -> None:
    task = task_run(state("PENDING"), flow_run_id=None)
    out = orchestrate_task_run(task, propose("RUNNING"), now=NOW)
    assert out.status == SetStateStatus.ACCEPT
    assert out.state is not None and out.state.state_details.flow_run_id is None
