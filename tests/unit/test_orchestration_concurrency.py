"""The concurrency rules are pure: slot state in, decision and slot changes out."""

from __future__ import annotations

import uuid

from shared.orchestration import orchestrate_flow_run, orchestrate_task_run
from shared.orchestration.context import SlotState
from tests.unit.orchestration_helpers import NOW, at, flow_run, propose, state, task_run

LIMIT_ID = uuid.uuid4()


def _limited(available: bool, strategy: str = "ENQUEUE", limit: int = 1, **extra: object) -> SlotState:
    return SlotState(limit_ids=(LIMIT_ID,), limit=limit, slot_available=available, collision_strategy=strategy, **extra)


def test_free_slot_is_taken_under_a_new_lease_written_on_the_state() -> None:
    run = flow_run(state("SCHEDULED", scheduled_time=NOW), deployment_id=uuid.uuid4())
    outcome = orchestrate_flow_run(run, propose("PENDING"), now=at(1), slots=_limited(True))
    assert outcome.status.value == "ACCEPT" and outcome.slot_changes is not None
    lease_id = outcome.slot_changes.acquire_lease_id
    assert lease_id is not None and outcome.slot_changes.acquire_limit_ids == (LIMIT_ID,)
    assert outcome.state is not None and outcome.state.state_details.deployment_concurrency_lease_id == lease_id


def test_full_limit_enqueues_or_cancels_and_takes_nothing() -> None:
    run = flow_run(state("SCHEDULED", scheduled_time=NOW), deployment_id=uuid.uuid4())
    queued = orchestrate_flow_run(run, propose("PENDING"), now=at(1), slots=_limited(False))
    assert queued.status.value == "REJECT" and queued.state is not None
    assert (queued.state.type.value, queued.state.name) == ("SCHEDULED", "AwaitingConcurrencySlot")
    assert queued.state.state_details.scheduled_time == at(31) and queued.slot_changes is None
    cancelled = orchestrate_flow_run(run, propose("PENDING"), now=at(1), slots=_limited(False, "CANCEL_NEW"))
    assert cancelled.state is not None and cancelled.state.type.value == "CANCELLED" and cancelled.slot_changes is None
    zero = orchestrate_flow_run(run, propose("PENDING"), now=at(1), slots=_limited(True, limit=0))
    assert zero.status.value == "ABORT" and not zero.write


def test_leaving_the_active_states_releases_but_an_in_process_retry_keeps_the_lease() -> None:
    lease_id = uuid.uuid4()
    held = SlotState(held_lease_id=lease_id, held_lease_live=True)
    running = flow_run(state("RUNNING", deployment_concurrency_lease_id=lease_id), deployment_id=uuid.uuid4())
    done = orchestrate_flow_run(running, propose("COMPLETED"), now=at(1), slots=held)
    assert done.slot_changes is not None and done.slot_changes.release_lease_ids == [lease_id]
    retrying = flow_run(
        state("RUNNING", deployment_concurrency_lease_id=lease_id),
        deployment_id=uuid.uuid4(),
        empirical_policy={"retries": 1, "retry_delay": 0},
        run_count=1,
    )
    retry = orchestrate_flow_run(retrying, propose("FAILED"), now=at(1), slots=held)
    assert retry.state is not None and retry.state.name == "AwaitingRetry" and retry.slot_changes is None
    # a lease already reaped is not released a second time
    gone = orchestrate_flow_run(running, propose("CANCELLED"), force=True, now=at(1), slots=SlotState())
    assert gone.write and gone.slot_changes is None


def test_pending_to_running_renews_a_live_lease_or_cancels_without_a_slot() -> None:
    lease_id = uuid.uuid4()
    pending = flow_run(state("PENDING", deployment_concurrency_lease_id=lease_id), deployment_id=uuid.uuid4())
    live = _limited(False, held_lease_id=lease_id, held_lease_live=True)
    renewed = orchestrate_flow_run(pending, propose("RUNNING"), now=at(1), slots=live)
    assert renewed.status.value == "ACCEPT" and renewed.slot_changes is not None
    assert renewed.slot_changes.renew_lease_id == lease_id
    lost = orchestrate_flow_run(pending, propose("RUNNING"), now=at(1), slots=_limited(False))
    assert lost.status.value == "REJECT" and lost.state is not None and lost.state.type.value == "CANCELLED"


def test_task_waits_on_a_full_tag_and_releases_on_a_final_state() -> None:
    full = SlotState(limit_ids=(LIMIT_ID,), limit=1, slot_available=False, blocking_names=("db",), wait_seconds=4)
    waiting = orchestrate_task_run(task_run(state("PENDING")), propose("RUNNING"), now=at(1), slots=full)
    assert waiting.status.value == "WAIT" and waiting.details.delay_seconds == 4
    lease_id = uuid.uuid4()
    done = orchestrate_task_run(
        task_run(state("RUNNING")), propose("COMPLETED"), now=at(1), slots=SlotState(held_lease_ids=(lease_id,))
    )
    assert done.slot_changes is not None and done.slot_changes.release_lease_ids == [lease_id]
