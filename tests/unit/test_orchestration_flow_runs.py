"""Flow-run orchestration: the contract's §2.7 table, retries, terminal states, force..."""

from __future__ import annotations

import datetime
import uuid

import pytest

from shared.orchestration import orchestrate_flow_run
from shared.schemas.flow_runs import FlowRunPolicy
from shared.schemas.responses import SetStateStatus
from shared.schemas.states import StateType
from tests.unit.orchestration_helpers import NOW, advance, at, flow_run, propose, state

ACCEPT, REJECT, ABORT, WAIT = (
    SetStateStatus.ACCEPT,
    SetStateStatus.REJECT,
    SetStateStatus.ABORT,
    SetStateStatus.WAIT,
)


# --- §2.7 table -----------------------------------------------------------------


def test_worker_claims_scheduled_run_with_pending() -> None:
    run = flow_run(state("SCHEDULED", scheduled_time=at(-5)))
    out = orchestrate_flow_run(run, propose("PENDING"), now=NOW)
    assert (out.status, out.http_status, out.write) == (ACCEPT, 201, True)
    assert out.details.type == "accept_details"
    assert out.state is not None and out.state.type == StateType.PENDING and out.state.name == "Pending"
    # CopyScheduledTime: the claim keeps the scheduled time.
    assert out.state.state_details.scheduled_time == at(-5)
    assert out.state.state_details.flow_run_id == run.id
    assert out.run.state_id == out.state.id and out.run.state_type == StateType.PENDING
    assert out.run.next_scheduled_start_time is None


@pytest.mark.parametrize("current", ["PENDING", "RUNNING", "CANCELLED"])
def test_second_claimer_is_aborted(current: str) -> None:
    run = flow_run(state(current), deployment_id=uuid.uuid4())
    out = orchestrate_flow_run(run, propose("PENDING"), now=NOW)
    assert (out.status, out.http_status, out.write) == (ABORT, 200, False)
    assert out.details.model_dump() == {
        "type": "abort_details",
        "reason": f"This run is in a {current} state and cannot transition to a PENDING state.",
    }
    assert out.state == run.state  # the current state comes back
    assert out.run is run


def test_cancelling_to_pending_is_rejected_before_the_pending_rule() -> None:
    # EnforceCancellingToCancelledTransition runs before PreventPendingTransitions.
    out = orchestrate_flow_run(flow_run(state("CANCELLING")), propose("PENDING"), now=NOW)
    assert (out.status, out.write) == (REJECT, False)


def test_pending_to_named_pending_substate_is_allowed() -> None:
    lease = uuid.uuid4()
    run = flow_run(state("PENDING", scheduled_time=at(-5), deployment_concurrency_lease_id=lease))
    out = orchestrate_flow_run(run, propose("PENDING", name="Submitting"), now=at(1))
    assert out.status == ACCEPT and out.state is not None
    assert out.state.name == "Submitting"
    assert out.state.state_details.scheduled_time == at(-5)
    assert out.state.state_details.deployment_concurrency_lease_id == lease


def test_running_before_scheduled_time_waits() -> None:
    run = flow_run(state("SCHEDULED", scheduled_time=at(30)))
    out = orchestrate_flow_run(run, propose("RUNNING"), now=NOW)
    assert (out.status, out.http_status, out.write) == (WAIT, 200, False)
    assert out.details.model_dump() == {
        "type": "wait_details",
        "delay_seconds": 30,
        "reason": "Scheduled time is in the future",
    }
    assert out.state == run.state


@pytest.mark.parametrize(("seconds_ahead", "expected"), [(29.4, 29), (29.5, 29), (29.6, 30), (0.4, None), (-3, None)])
def test_wait_rounds_to_whole_seconds(seconds_ahead: float, expected: int | None) -> None:
    run = flow_run(state("PENDING", scheduled_time=at(seconds_ahead)))
    out = orchestrate_flow_run(run, propose("RUNNING"), now=NOW)
    if expected is None:
        assert out.status == ACCEPT
    else:
        assert out.status == WAIT and out.details.delay_seconds == expected


def test_failed_with_retries_left_is_rejected_to_awaiting_retry() -> None:
    run = flow_run(
        state("RUNNING", timestamp=at(-10)),
        run_count=1,
        empirical_policy=FlowRunPolicy(retries=1, retry_delay=5),
    )
    out = orchestrate_flow_run(run, propose("FAILED", data={"type": "unpersisted"}), now=NOW)
    assert (out.status, out.http_status, out.write) == (REJECT, 201, True)
    assert out.details.model_dump() == {"type": "reject_details", "reason": "Retrying"}
    assert out.state is not None
    assert (out.state.type, out.state.name) == (StateType.SCHEDULED, "AwaitingRetry")
    assert out.state.state_details.scheduled_time == at(5)
    assert out.state.data == {"type": "unpersisted"}
    assert out.run.empirical_policy.retry_type == "in_process"
    assert out.run.next_scheduled_start_time == at(5)
    assert out.run.total_run_time == datetime.timedelta(seconds=10)
    assert out.run.end_time is None


def test_flow_retry_full_cycle() -> None:
    """retries=1: Running, Failed -> AwaitingRetry, Running (WAIT until due) with run_count 2."""
    run = flow_run(empirical_policy=FlowRunPolicy(retries=1, retry_delay=10))
    run = advance(run, "PENDING", at(0))
    run = advance(run, "RUNNING", at(1))
    assert run.run_count == 1 and run.start_time == at(1)

    out = orchestrate_flow_run(run, propose("FAILED"), now=at(3))
    assert out.status == REJECT and out.write
    run = out.run
    assert run.state is not None and run.state.name == "AwaitingRetry"

    early = orchestrate_flow_run(run, propose("RUNNING"), now=at(4))
    assert early.status == WAIT and early.details.delay_seconds == 9

    run = advance(run, "RUNNING", at(13))
    assert run.run_count == 2
    assert run.state is not None and run.state.name == "Running"  # flows are not renamed
    assert run.start_time == at(1)  # first start is kept

    final = orchestrate_flow_run(run, propose("FAILED"), now=at(15))
    assert (final.status, final.write) == (ACCEPT, True)
    assert final.run.state_type == StateType.FAILED
    assert final.run.end_time == at(15)
    assert final.run.total_run_time == datetime.timedelta(seconds=4)  # 2 s + 2 s running
    assert final.run.empirical_policy.retry_type is None


def test_failed_without_retries_is_accepted() -> None:
    run = flow_run(state("RUNNING", timestamp=at(-2)), run_count=1)
    out = orchestrate_flow_run(run, propose("FAILED"), now=NOW)
    assert out.status == ACCEPT and out.state is not None and out.state.type == StateType.FAILED
    assert out.run.end_time == NOW and out.run.start_time == NOW  # never saw RUNNING start here


# --- duplicate transitions ---------------------------------------------------------


def test_same_transition_id_returns_current_state() -> None:
    tid = uuid.uuid4()
    run = flow_run(state("SCHEDULED", scheduled_time=at(-1)))
    first = orchestrate_flow_run(run, propose("PENDING", transition_id=tid), now=NOW)
    assert first.status == ACCEPT
    retry = orchestrate_flow_run(first.run, propose("PENDING", transition_id=tid), now=at(1))
    assert (retry.status, retry.write, retry.http_status) == (REJECT, False, 200)
    assert retry.details.model_dump() == {
        "type": "reject_details",
        "reason": "This run has already made this state transition.",
    }
    assert retry.state == first.state


def test_different_transition_id_goes_through_rules() -> None:
    run = flow_run(state("PENDING", transition_id=uuid.uuid4()))
    out = orchestrate_flow_run(run, propose("PENDING", transition_id=uuid.uuid4()), now=NOW)
    assert out.status == ABORT


# --- terminal states --------------------------------------------------------------

PERSISTED = {"type": "reference", "storage_key": "/tmp/x"}


def test_completed_with_persisted_result_cannot_rerun() -> None:
    done = state("COMPLETED")
    done.data = PERSISTED
    out = orchestrate_flow_run(flow_run(done), propose("RUNNING"), now=NOW)
    assert (out.status, out.write) == (REJECT, False)
    assert out.details.reason == "Run is already COMPLETED."
    assert out.state is not None and out.state.data == PERSISTED


def test_completed_cannot_be_overwritten_without_result() -> None:
    done = state("COMPLETED")
    done.data = PERSISTED
    reason = "Cannot overwrite a COMPLETED state that carries persisted result data with one that does not."
    for force in (False, True):
        out = orchestrate_flow_run(flow_run(done), propose("COMPLETED"), force=force, now=NOW)
        assert (out.status, out.details.reason) == (REJECT, reason)


def test_completed_without_persisted_result_can_rerun_and_clears_end_time() -> None:
    run = flow_run(state("COMPLETED", timestamp=at(-1)), end_time=at(-1), start_time=at(-9), run_count=1)
    out = orchestrate_flow_run(run, propose("RUNNING"), now=NOW)
    assert out.status == ACCEPT
    assert out.run.end_time is None and out.run.run_count == 2
    assert out.run.empirical_policy.retry_type is None


@pytest.mark.parametrize("terminal", ["COMPLETED", "FAILED", "CANCELLED", "CRASHED"])
@pytest.mark.parametrize("target", ["CANCELLING", "PAUSED", "CRASHED"])
def test_terminal_runs_cannot_crash_pause_or_cancel(terminal: str, target: str) -> None:
    out = orchestrate_flow_run(flow_run(state(terminal)), propose(target), now=NOW)
    assert out.status == ABORT
    assert out.details.reason == f"Run is already in terminal state {terminal}."


def test_terminal_run_rescheduled_needs_deployment() -> None:
    out = orchestrate_flow_run(flow_run(state("FAILED")), propose("SCHEDULED"), now=NOW)
    assert out.status == ABORT
    assert out.details.reason == "Cannot reschedule a run without an associated deployment."

    policy = FlowRunPolicy(pause_keys={"k"}, resuming=True)
    run = flow_run(state("FAILED"), deployment_id=uuid.uuid4(), empirical_policy=policy)
    out = orchestrate_flow_run(run, propose("SCHEDULED", scheduled_time=at(60)), now=NOW)
    assert out.status == ACCEPT
    assert out.run.empirical_policy.retry_type == "reschedule"
    assert out.run.empirical_policy.pause_keys == set() and not out.run.empirical_policy.resuming
    assert out.run.next_scheduled_start_time == at(60)


# --- force --------------------------------------------------------------------------


def test_force_bypasses_rules_but_keeps_bookkeeping() -> None:
    run = flow_run(state("RUNNING", timestamp=at(-4)), run_count=1, start_time=at(-4))
    out = orchestrate_flow_run(run, propose("PENDING"), force=True, now=NOW)
    assert (out.status, out.write) == (ACCEPT, True)
    assert out.run.total_run_time == datetime.timedelta(seconds=4)
    assert out.run.state_type == StateType.PENDING
    assert out.state is not None and out.state.state_details.flow_run_id == run.id


def test_force_cancelled_from_cancelling() -> None:
    run = flow_run(state("CANCELLING", timestamp=at(-5)), start_time=at(-60))
    out = orchestrate_flow_run(run, propose("CANCELLED"), force=True, now=NOW)
    assert out.status == ACCEPT and out.run.end_time == NOW


def test_force_skips_wait() -> None:
    run = flow_run(state("SCHEDULED", scheduled_time=at(100)))
    out = orchestrate_flow_run(run, propose("RUNNING"), force=True, now=NOW)
    assert out.status == ACCEPT and out.run.run_count == 1


# --- cancellation -------------------------------------------------------------------


@pytest.mark.parametrize("target", ["RUNNING", "COMPLETED", "FAILED", "CRASHED", "SCHEDULED"])
def test_cancelling_only_goes_to_cancelled(target: str) -> None:
    run = flow_run(state("CANCELLING"), deployment_id=uuid.uuid4())
    out = orchestrate_flow_run(run, propose(target), now=NOW)
    assert (out.status, out.write) == (REJECT, False)
    assert out.details.reason == ("Cannot transition flows that are cancelling to a state other than Cancelled.")
    ok = orchestrate_flow_run(run, propose("CANCELLED"), now=NOW)
    assert ok.status == ACCEPT


def test_running_to_cancelling_is_accepted() -> None:
    out = orchestrate_flow_run(flow_run(state("RUNNING"), infrastructure_pid="1"), propose("CANCELLING"), now=NOW)
    assert out.status == ACCEPT and out.state is not None and out.state.name == "Cancelling"


def test_cancelling_scheduled_run_without_infra_goes_straight_to_cancelled() -> None:
    run = flow_run(state("SCHEDULED", timestamp=at(-9), scheduled_time=at(60)))
    out = orchestrate_flow_run(run, propose("CANCELLING"), now=NOW)
    assert (out.status, out.write, out.http_status) == (REJECT, True, 201)
    assert out.details.reason == "Scheduled flow run has no infrastructure to terminate."
    assert out.state is not None and (out.state.type, out.state.name) == (StateType.CANCELLED, "Cancelled")
    assert out.run.end_time == NOW and out.run.next_scheduled_start_time is None


def test_cancelling_scheduled_run_with_infra_is_accepted() -> None:
    run = flow_run(state("SCHEDULED", name="AwaitingRetry"), infrastructure_pid="42")
    assert orchestrate_flow_run(run, propose("CANCELLING"), now=NOW).status == ACCEPT


def test_cancelling_suspended_run_goes_straight_to_cancelled() -> None:
    run = flow_run(state("PAUSED", name="Suspended", pause_reschedule=True), deployment_id=uuid.uuid4())
    out = orchestrate_flow_run(run, propose("CANCELLING"), now=NOW)
    assert out.status == REJECT and out.state is not None and out.state.type == StateType.CANCELLED
    assert out.details.reason == "Suspended flow run has no infrastructure to terminate."


def test_force_cancelling_scheduled_still_bypasses() -> None:
    out = orchestrate_flow_run(flow_run(state("SCHEDULED")), propose("CANCELLING"), force=True, now=NOW)
    assert out.state is not None and out.state.type == StateType.CANCELLED


# --- late runs ----------------------------------------------------------------------


def test_only_scheduled_runs_are_marked_late_once() -> None:
    run = flow_run(state("SCHEDULED", scheduled_time=at(-60)))
    late = orchestrate_flow_run(run, propose("SCHEDULED", name="Late", scheduled_time=at(-60)), now=NOW)
    assert late.status == ACCEPT and late.run.state_name == "Late"
    again = orchestrate_flow_run(late.run, propose("SCHEDULED", name="Late"), now=at(1))
    assert (again.status, again.details.reason) == (REJECT, "This flow run is already marked late.")
    running = flow_run(state("RUNNING"))
    out = orchestrate_flow_run(running, propose("SCHEDULED", name="Late"), now=NOW)
    assert (out.status, out.details.reason) == (REJECT, "Only scheduled flows can be marked late.")


# --- bookkeeping --------------------------------------------------------------------


def test_first_state_sets_expected_start_time() -> None:
    out = orchestrate_flow_run(flow_run(), propose("SCHEDULED", scheduled_time=at(300)), now=NOW)
    assert out.run.expected_start_time == at(300)
    assert out.run.next_scheduled_start_time == at(300)
    adhoc = orchestrate_flow_run(flow_run(), propose("RUNNING"), now=NOW)
    assert adhoc.run.expected_start_time == NOW and adhoc.run.start_time == NOW


def test_state_timestamp_is_monotonic_under_clock_skew() -> None:
    run = flow_run(state("RUNNING", timestamp=at(5)), run_count=1)
    out = orchestrate_flow_run(run, propose("COMPLETED"), now=NOW)  # this Lambda's clock is behind
    assert out.state is not None and out.state.timestamp > at(5)
    assert out.run.total_run_time >= datetime.timedelta(0)


def test_lease_id_is_carried_forward() -> None:
    lease = uuid.uuid4()
    run = flow_run(state("PENDING", deployment_concurrency_lease_id=lease))
    out = orchestrate_flow_run(run, propose("RUNNING"), now=NOW)
    assert out.state is not None and out.state.state_details.deployment_concurrency_lease_id == lease


def test_caller_run_is_not_mutated() -> None:
    run = flow_run(state("RUNNING", timestamp=at(-1)), run_count=1, empirical_policy=FlowRunPolicy(retries=2))
    before = run.model_dump()
    orchestrate_flow_run(run, propose("FAILED"), now=NOW)
    assert run.model_dump() == before


def test_artifact_keys_are_stripped_from_returned_data() -> None:
    data = {"type": "reference", "artifact_key": "k", "artifact_type": "result", "artifact_description": "d"}
    run = flow_run(state("RUNNING"), run_count=1)
    out = orchestrate_flow_run(run, propose("COMPLETED", data=data), now=NOW)
    assert out.state is not None and out.state.data == {"type": "reference"}


# --- subflows -----------------------------------------------------------------------


def test_subflow_state_is_copied_to_parent_task_run() -> None:
    parent_task = uuid.uuid4()
    run = flow_run(state("PENDING"), parent_task_run_id=parent_task)
    out = orchestrate_flow_run(run, propose("RUNNING"), now=NOW)
    assert out.state is not None and out.state.state_details.task_run_id == parent_task
    copy = out.parent_task_run_state
    assert copy is not None
    assert copy.type == StateType.RUNNING and copy.id != out.state.id
    assert copy.state_details.child_flow_run_id == run.id


def test_no_parent_copy_when_nothing_written() -> None:
    run = flow_run(state("RUNNING"), parent_task_run_id=uuid.uuid4())
    out = orchestrate_flow_run(run, propose("PENDING"), now=NOW)
    assert out.status == ABORT and out.parent_task_run_state is None
