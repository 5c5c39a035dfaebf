"""Pausing, suspending and resuming flow runs (set_state PAUSED and POST /resume)."""

from __future__ import annotations

import uuid

from shared.orchestration import orchestrate_flow_run, resume_flow_run
from shared.schemas.flow_runs import FlowRunPolicy
from shared.schemas.responses import SetStateStatus
from shared.schemas.states import StateType
from tests.unit.orchestration_helpers import NOW, at, flow_run, propose, state

ACCEPT, REJECT, ABORT = SetStateStatus.ACCEPT, SetStateStatus.REJECT, SetStateStatus.ABORT


def test_pause_running_flow_records_key_once() -> None:
    run = flow_run(state("RUNNING", timestamp=at(-3)), run_count=1)
    out = orchestrate_flow_run(run, propose("PAUSED", pause_key="k1", pause_timeout=at(60)), now=NOW)
    assert out.status == ACCEPT and out.run.empirical_policy.pause_keys == {"k1"}
    # Same pause key again (after resuming) is refused.
    again = flow_run(state("RUNNING"), empirical_policy=out.run.empirical_policy)
    out2 = orchestrate_flow_run(again, propose("PAUSED", pause_key="k1"), now=at(1))
    assert (out2.status, out2.details.reason) == (REJECT, "This pause has already fired.")


def test_pause_requires_running_flow() -> None:
    out = orchestrate_flow_run(flow_run(state("PENDING")), propose("PAUSED"), now=NOW)
    assert (out.status, out.details.reason) == (REJECT, "Cannot pause flows that are not currently running.")
    none = orchestrate_flow_run(flow_run(), propose("PAUSED", name="Suspended"), now=NOW)
    assert (none.status, none.details.reason) == (ABORT, "Cannot suspend flows with no state.")


def test_suspend_needs_deployment_and_no_parent() -> None:
    run = flow_run(state("RUNNING"))
    out = orchestrate_flow_run(run, propose("PAUSED", name="Suspended", pause_reschedule=True), now=NOW)
    assert (out.status, out.details.reason) == (ABORT, "Cannot suspend flows without a deployment.")
    sub = flow_run(state("RUNNING"), deployment_id=uuid.uuid4(), parent_task_run_id=uuid.uuid4())
    out = orchestrate_flow_run(sub, propose("PAUSED", name="Suspended", pause_reschedule=True), now=NOW)
    assert (out.status, out.details.reason) == (ABORT, "Cannot suspend subflows.")


def test_resume_blocking_pause_runs_in_place() -> None:
    run = flow_run(state("PAUSED", pause_timeout=at(60)), run_count=1, empirical_policy=FlowRunPolicy(pause_keys={"k"}))
    out = resume_flow_run(run, now=NOW)
    assert (out.status, out.write, out.http_status) == (ACCEPT, True, 201)
    assert out.state is not None and out.state.type == StateType.RUNNING
    assert out.run.empirical_policy.resuming is True
    assert out.run.empirical_policy.pause_keys == {"k"}


def test_resume_after_timeout_fails_the_run() -> None:
    run = flow_run(state("PAUSED", timestamp=at(-120), pause_timeout=at(-60)), run_count=1)
    out = resume_flow_run(run, now=NOW)
    assert out.status == REJECT and out.write
    assert out.details.reason == "The flow run pause has timed out and can no longer resume."
    assert out.state is not None and out.state.type == StateType.FAILED
    assert out.state.message == "The flow was running and never resumed."


def test_resume_suspended_run_reschedules_and_skips_run_count() -> None:
    deployment = uuid.uuid4()
    run = flow_run(state("PAUSED", name="Suspended", pause_reschedule=True), run_count=1, deployment_id=deployment)
    out = resume_flow_run(run, now=NOW)
    assert out.status == ACCEPT and out.state is not None
    assert (out.state.type, out.state.name) == (StateType.SCHEDULED, "Resuming")
    assert out.state.state_details.scheduled_time == NOW
    assert out.run.empirical_policy.resuming is True
    # The worker picks it up again: this RUNNING does not count as a new attempt.
    pending = orchestrate_flow_run(out.run, propose("PENDING"), now=at(1))
    running = orchestrate_flow_run(pending.run, propose("RUNNING"), now=at(2))
    assert running.status == ACCEPT
    assert running.run.run_count == 1 and running.run.empirical_policy.resuming is False


def test_resume_not_paused_aborts() -> None:
    out = resume_flow_run(flow_run(state("RUNNING")), now=NOW)
    assert (out.status, out.state, out.http_status) == (ABORT, None, 200)
    assert out.details.model_dump() == {
        "type": "abort_details",
        "reason": "Cannot resume a flow run that is not paused.",
    }


def test_resume_with_invalid_input_is_rejected_with_abort_details() -> None:
    run = flow_run(state("PAUSED", run_input_keyset={"schema": "s", "response": "r"}))
    out = resume_flow_run(run, run_input_error="Run input schema not found.", now=NOW)
    assert (out.status, out.write) == (REJECT, False)
    assert out.details.model_dump() == {"type": "abort_details", "reason": "Run input schema not found."}
    assert out.state == run.state


def test_paused_run_cannot_go_pending() -> None:
    out = orchestrate_flow_run(flow_run(state("PAUSED")), propose("PENDING"), now=NOW)
    assert out.status == REJECT
    assert out.details.reason == (
        "This run cannot transition to the StateType.PENDING state from the StateType.PAUSED state."
    )


def test_blocking_pause_left_for_scheduled_starts_over() -> None:
    run = flow_run(state("PAUSED"), deployment_id=uuid.uuid4(), empirical_policy=FlowRunPolicy(pause_keys={"k"}))
    out = orchestrate_flow_run(run, propose("SCHEDULED"), now=NOW)
    assert out.status == ACCEPT
    policy = out.run.empirical_policy
    assert (policy.pause_keys, policy.resuming, policy.retry_type) == (set(), False, "reschedule")
