"""Concurrency slots in orchestration: deployment limits for flow runs, tag limits for task
runs (the reference's SecureFlowConcurrencySlots, ValidateDeploymentConcurrencyAtRunning,
ReleaseFlowConcurrencySlots, SecureTaskConcurrencySlots, ReleaseTaskConcurrencySlots).

Pure: the caller reads the slot state (`ctx.slots`) before deciding and writes the
decided `ctx.slot_changes` in the same transaction as the new state, conditioned on the
counters it read; if another run took the last slot meanwhile, that write fails and the
caller decides again on fresh slot state.
"""

from __future__ import annotations

import datetime
from uuid import uuid4

from shared.orchestration.base import ALL_STATES, Rule, Transform
from shared.orchestration.context import Context
from shared.schemas.flow_runs import FlowRun
from shared.schemas.responses import SetStateStatus
from shared.schemas.states import State, StateDetails, StateType
from shared.schemas.task_runs import TaskRun

# Holding a slot: from taking it at PENDING until the run leaves these states.
ACTIVE_FLOW_STATES = frozenset({StateType.PENDING, StateType.RUNNING, StateType.CANCELLING})
DEPLOYMENT_LIMIT_REACHED = "Deployment concurrency limit reached."


def _take(ctx: Context[FlowRun] | Context[TaskRun]) -> None:
    slots = ctx.slots
    assert slots is not None and ctx.proposed is not None
    lease_id = uuid4()
    ctx.slot_changes.acquire_lease_id = lease_id
    ctx.slot_changes.acquire_limit_ids = slots.limit_ids
    ctx.slot_changes.acquire_lease_seconds = slots.lease_seconds
    if isinstance(ctx.run, FlowRun):
        ctx.proposed.state_details.deployment_concurrency_lease_id = lease_id


def _untake(ctx: Context[FlowRun] | Context[TaskRun]) -> None:
    ctx.slot_changes.acquire_lease_id = None
    ctx.slot_changes.acquire_limit_ids = ()


class SecureFlowConcurrencySlots(Rule[FlowRun]):
    """Entering PENDING takes a slot of the deployment's limit, under a lease (a worker
    secures it before provisioning infrastructure). Full: ENQUEUE reschedules the run
    ("AwaitingConcurrencySlot"), CANCEL_NEW cancels it. A limit of 0 would deadlock: abort."""

    FROM_STATES = ALL_STATES - ACTIVE_FLOW_STATES
    TO_STATES = frozenset({StateType.PENDING})

    def before(self, ctx: Context[FlowRun]) -> None:
        slots = ctx.slots
        if slots is None or slots.limit is None or ctx.proposed is None:
            return
        if slots.limit == 0:
            self.abort(ctx, "The deployment concurrency limit is 0. The flow will deadlock if submitted again.")
            return
        if slots.slot_available:
            _take(ctx)
            return
        if slots.collision_strategy == "CANCEL_NEW":
            self.reject(
                ctx,
                State(type=StateType.CANCELLED, name="Cancelled", timestamp=ctx.now, message=DEPLOYMENT_LIMIT_REACHED),
                DEPLOYMENT_LIMIT_REACHED,
            )
            return
        self.reject(
            ctx,
            State(
                type=StateType.SCHEDULED,
                name="AwaitingConcurrencySlot",
                timestamp=ctx.now,
                state_details=StateDetails(scheduled_time=ctx.now + datetime.timedelta(seconds=slots.wait_seconds)),
            ),
            DEPLOYMENT_LIMIT_REACHED,
        )

    def cleanup(self, ctx: Context[FlowRun]) -> None:
        # A later rule changed the transition: the slot must not be taken after all.
        _untake(ctx)
        if ctx.proposed is not None:
            ctx.proposed.state_details.deployment_concurrency_lease_id = None


class ValidateDeploymentConcurrencyAtRunning(Rule[FlowRun]):
    """PENDING -> RUNNING keeps the slot only if its lease is still alive (renewed here);
    a reaped lease is re-taken if a slot is free, else the run is cancelled (its
    infrastructure is up, it cannot go back to the queue)."""

    FROM_STATES = frozenset({StateType.PENDING})
    TO_STATES = frozenset({StateType.RUNNING})

    def before(self, ctx: Context[FlowRun]) -> None:
        if ctx.initial is None or ctx.proposed is None:
            return
        lease_id = ctx.initial.state_details.deployment_concurrency_lease_id
        ctx.proposed.state_details.deployment_concurrency_lease_id = lease_id
        slots = ctx.slots
        if lease_id is None or slots is None or slots.limit is None:
            return
        if slots.held_lease_id == lease_id and slots.held_lease_live:
            ctx.slot_changes.renew_lease_id = lease_id
            ctx.slot_changes.renew_lease_seconds = slots.lease_seconds
            return
        if slots.slot_available and slots.limit > 0:
            _take(ctx)
            return
        self.reject(
            ctx,
            State(
                type=StateType.CANCELLED,
                name="Cancelled",
                timestamp=ctx.now,
                message="Deployment concurrency slot lost during provisioning - no slots available to continue execution",
            ),
            "Deployment concurrency limit reached after lease expiry.",
        )

    def cleanup(self, ctx: Context[FlowRun]) -> None:
        _untake(ctx)
        ctx.slot_changes.renew_lease_id = None


class ReleaseFlowConcurrencySlots(Transform[FlowRun]):
    """Leaving PENDING/RUNNING/CANCELLING for any other state gives the slot back — except
    an in-process retry (REJECTed into "AwaitingRetry"), whose engine keeps its lease."""

    def after(self, ctx: Context[FlowRun]) -> None:
        initial, validated, slots = ctx.initial, ctx.validated, ctx.slots
        if initial is None or validated is None or slots is None:
            return
        if initial.type not in ACTIVE_FLOW_STATES or validated.type in ACTIVE_FLOW_STATES:
            return
        if (
            validated.type == StateType.SCHEDULED
            and validated.name == "AwaitingRetry"
            and ctx.status == SetStateStatus.REJECT
        ):
            return
        lease_id = initial.state_details.deployment_concurrency_lease_id
        # A lease already reaped gave its slot back then; releasing only what still exists
        # means a slot is never given back twice.
        if lease_id is not None and slots.held_lease_id == lease_id:
            ctx.slot_changes.release_lease_ids.append(lease_id)


class SecureTaskConcurrencySlots(Rule[TaskRun]):
    """Entering RUNNING takes a slot on every `tag:` limit of the task's tags, or WAITs
    while one is full; a limit of 0 would deadlock: abort."""

    FROM_STATES = ALL_STATES
    TO_STATES = frozenset({StateType.RUNNING})

    def before(self, ctx: Context[TaskRun]) -> None:
        slots = ctx.slots
        if slots is None or ctx.proposed is None:
            return
        if slots.zero_names:
            self.abort(
                ctx,
                f'The concurrency limit on tag "{slots.zero_names[0]}" is 0 and will deadlock if the task tries to run again.',
            )
            return
        if not slots.slot_available:
            self.delay(
                ctx,
                max(round(slots.wait_seconds), 1),
                f"Concurrency limit reached for tags: {', '.join(slots.blocking_names)}",
            )
            return
        if slots.limit_ids:
            _take(ctx)

    def cleanup(self, ctx: Context[TaskRun]) -> None:
        _untake(ctx)


class ReleaseTaskConcurrencySlots(Transform[TaskRun]):
    """Any state but RUNNING/CANCELLING gives back the tag slots the task run holds."""

    def after(self, ctx: Context[TaskRun]) -> None:
        validated, slots = ctx.validated, ctx.slots
        if validated is None or slots is None or validated.type in {StateType.RUNNING, StateType.CANCELLING}:
            return
        ctx.slot_changes.release_lease_ids.extend(slots.held_lease_ids)
