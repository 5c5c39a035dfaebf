"""Rules specific to flow runs (the reference's CoreFlowPolicy concerns, one per class)."""

from __future__ import annotations

import datetime
from typing import Any
from uuid import uuid4

from shared.orchestration.base import ALL_STATES, TERMINAL, Rule
from shared.orchestration.context import Context
from shared.schemas.flow_runs import FlowRun, FlowRunPolicy
from shared.schemas.states import State, StateDetails, StateType, is_persisted_result

FlowCtx = Context[FlowRun]


def update_policy(ctx: FlowCtx, **changes: Any) -> None:
    # empirical_policy is replaced, never mutated in place, so the caller's run is untouched.
    ctx.run.empirical_policy = FlowRunPolicy.model_validate({**ctx.run.empirical_policy.model_dump(), **changes})


class PreserveDeploymentConcurrencyLeaseId(Rule[FlowRun]):
    """Workers send `deployment_concurrency_lease_id: null`; keep the run's lease anyway."""

    FROM_STATES = ALL_STATES
    TO_STATES = ALL_STATES

    def before(self, ctx: FlowCtx) -> None:
        if ctx.initial is None or ctx.proposed is None:
            return
        lease_id = ctx.initial.state_details.deployment_concurrency_lease_id
        if lease_id is not None and ctx.proposed.state_details.deployment_concurrency_lease_id is None:
            ctx.proposed.state_details.deployment_concurrency_lease_id = lease_id


class PreventDuplicateTransitions(Rule[FlowRun]):
    """A retried request (same transition_id as the current state) gets the current state back."""

    FROM_STATES = ALL_STATES
    TO_STATES = ALL_STATES

    def before(self, ctx: FlowCtx) -> None:
        if ctx.initial is None or ctx.proposed is None:
            return
        current_id = ctx.initial.state_details.transition_id
        if current_id is not None and current_id == ctx.proposed.state_details.transition_id:
            self.reject(ctx, None, "This run has already made this state transition.")


def _overwrites_persisted_result(initial: State, proposed: State) -> bool:
    # COMPLETED -> COMPLETED must not replace a stored result by "no result".
    return (
        initial.is_completed()
        and proposed.is_completed()
        and bool(initial.data)
        and is_persisted_result(initial.data)
        and not is_persisted_result(proposed.data)
    )


class HandleFlowTerminalStateTransitions(Rule[FlowRun]):
    """Leaving a terminal state: only reruns (not crash/pause/cancel), and not over a result."""

    FROM_STATES = TERMINAL
    TO_STATES = ALL_STATES

    def before(self, ctx: FlowCtx) -> None:
        initial, proposed = ctx.initial, ctx.proposed
        if initial is None or proposed is None:
            return
        self._original_policy = ctx.run.empirical_policy
        if proposed.type in {StateType.CANCELLING, StateType.PAUSED, StateType.CRASHED}:
            self.abort(ctx, f"Run is already in terminal state {initial.type.value}.")
            return
        if initial.is_completed() and not proposed.is_final() and initial.data and is_persisted_result(initial.data):
            self.reject(ctx, None, "Run is already COMPLETED.")
            return
        if _overwrites_persisted_result(initial, proposed):
            self.reject(
                ctx,
                None,
                "Cannot overwrite a COMPLETED state that carries persisted result data with one that does not.",
            )
            return
        if proposed.is_scheduled() and not ctx.run.deployment_id:
            self.abort(ctx, "Cannot reschedule a run without an associated deployment.")
            return
        if not proposed.is_final():
            # A manual rerun starts over: pauses fire again.
            update_policy(
                ctx,
                resuming=False,
                pause_keys=set(),
                retry_type="reschedule" if proposed.is_scheduled() else None,
            )

    def cleanup(self, ctx: FlowCtx) -> None:
        if hasattr(self, "_original_policy"):
            ctx.run.empirical_policy = self._original_policy


class PreventResultDataLoss(Rule[FlowRun]):
    """The one terminal guard kept under force=True: don't drop a persisted result."""

    FROM_STATES = TERMINAL
    TO_STATES = TERMINAL

    def before(self, ctx: FlowCtx) -> None:
        if ctx.initial is None or ctx.proposed is None:
            return
        if _overwrites_persisted_result(ctx.initial, ctx.proposed):
            self.reject(
                ctx,
                None,
                "Cannot overwrite a COMPLETED state that carries persisted result data with one that does not.",
            )


class EnforceCancellingToCancelledTransition(Rule[FlowRun]):
    """A CANCELLING run may only become CANCELLED (the worker forces that after killing it)."""

    FROM_STATES = frozenset({StateType.CANCELLING})
    TO_STATES = ALL_STATES - {StateType.CANCELLED}

    def before(self, ctx: FlowCtx) -> None:
        self.reject(ctx, None, "Cannot transition flows that are cancelling to a state other than Cancelled.")


class BypassCancellingFlowRunsWithNoInfra(Rule[FlowRun]):
    """Nothing to tear down (not started, or suspended): go straight to CANCELLED."""

    FROM_STATES = frozenset({StateType.SCHEDULED, StateType.PAUSED})
    TO_STATES = frozenset({StateType.CANCELLING})

    def before(self, ctx: FlowCtx) -> None:
        initial = ctx.initial
        if initial is None or ctx.proposed is None:
            return
        not_started = initial.type == StateType.SCHEDULED and not ctx.run.infrastructure_pid
        if not_started or initial.name == "Resuming":
            self.reject(
                ctx,
                State(type=StateType.CANCELLED, timestamp=ctx.now),
                "Scheduled flow run has no infrastructure to terminate.",
            )
        elif initial.type == StateType.PAUSED and initial.state_details.pause_reschedule:
            self.reject(
                ctx,
                State(type=StateType.CANCELLED, timestamp=ctx.now),
                "Suspended flow run has no infrastructure to terminate.",
            )


class EnsureOnlyScheduledFlowsMarkedLate(Rule[FlowRun]):
    """The late-runs loop may only relabel a Scheduled run as "Late", once."""

    FROM_STATES = ALL_STATES
    TO_STATES = frozenset({StateType.SCHEDULED})

    def before(self, ctx: FlowCtx) -> None:
        initial, proposed = ctx.initial, ctx.proposed
        if initial is None or proposed is None or proposed.name != "Late":
            return
        if not initial.is_scheduled():
            self.reject(ctx, None, "Only scheduled flows can be marked late.")
        elif initial.name == "Late":
            self.reject(ctx, None, "This flow run is already marked late.")


def _pause_verb(state: State) -> str:
    return "suspend" if state.name == "Suspended" else "pause"


class HandlePausingFlows(Rule[FlowRun]):
    """Pausing needs a running flow; each pause key fires once; suspend needs a deployment."""

    FROM_STATES = ALL_STATES
    TO_STATES = frozenset({StateType.PAUSED})

    key: str | None = None

    def before(self, ctx: FlowCtx) -> None:
        initial, proposed = ctx.initial, ctx.proposed
        if proposed is None:
            return
        verb = _pause_verb(proposed)
        if initial is None:
            self.abort(ctx, f"Cannot {verb} flows with no state.")
            return
        if not initial.is_running():
            self.reject(ctx, None, f"Cannot {verb} flows that are not currently running.")
            return
        key = proposed.state_details.pause_key or str(uuid4())
        if key in (ctx.run.empirical_policy.pause_keys or set()):
            self.reject(ctx, None, f"This {verb} has already fired.")
            return
        if proposed.state_details.pause_reschedule:
            if ctx.run.parent_task_run_id:
                self.abort(ctx, f"Cannot {verb} subflows.")
                return
            if ctx.run.deployment_id is None:
                self.abort(ctx, f"Cannot {verb} flows without a deployment.")
                return
        self.key = key

    def after(self, ctx: FlowCtx) -> None:
        # Only an accepted pause records its key (rejections leave nothing to persist).
        # Deleting stale run input under the keyset is storage work: the caller does it.
        if self.key is not None and ctx.validated is not None:
            update_policy(ctx, pause_keys={*(ctx.run.empirical_policy.pause_keys or set()), self.key})


class HandleResumingPausedFlows(Rule[FlowRun]):
    """Leaving PAUSED: only to run/schedule/cancel/finish, and not after the pause timed out."""

    FROM_STATES = frozenset({StateType.PAUSED})
    TO_STATES = ALL_STATES

    def before(self, ctx: FlowCtx) -> None:
        initial, proposed = ctx.initial, ctx.proposed
        if initial is None or proposed is None:
            return
        if not (proposed.is_running() or proposed.is_scheduled() or proposed.is_cancelling() or proposed.is_final()):
            self.reject(
                ctx,
                None,
                # The reference formats the enum itself, hence "StateType.X" in the text.
                f"This run cannot transition to the StateType.{proposed.type.value} state"
                f" from the StateType.{initial.type.value} state.",
            )
            return
        verb = _pause_verb(proposed)
        shown_name = (proposed.name or proposed.type.value).lower()
        if initial.state_details.pause_reschedule and not ctx.run.deployment_id:
            self.reject(ctx, None, f"Cannot reschedule a {shown_name} flow run without a deployment.")
            return
        if proposed.is_cancelling():
            # A blocking pause keeps its process alive: cancelling must reach the worker
            # even after the pause deadline passed.
            return
        pause_timeout = initial.state_details.pause_timeout
        if pause_timeout and pause_timeout < ctx.now:
            self.reject(
                ctx,
                State(
                    type=StateType.FAILED,
                    timestamp=ctx.now,
                    message=f"The flow was {shown_name} and never resumed.",
                ),
                f"The flow run {verb} has timed out and can no longer resume.",
            )

    def after(self, ctx: FlowCtx) -> None:
        if ctx.validated is None:
            return  # nothing written, nothing to persist
        initial = ctx.initial
        if initial is not None and not initial.state_details.pause_reschedule and ctx.validated.is_scheduled():
            # A blocking pause left for Scheduled means a fresh attempt from the top:
            # pauses must fire again.
            update_policy(ctx, resuming=False, pause_keys=set(), retry_type="reschedule")
        else:
            update_policy(ctx, resuming=True)


class RetryFailedFlows(Rule[FlowRun]):
    """RUNNING -> FAILED with retries left becomes SCHEDULED "AwaitingRetry" (REJECT)."""

    FROM_STATES = frozenset({StateType.RUNNING})
    TO_STATES = frozenset({StateType.FAILED})

    def before(self, ctx: FlowCtx) -> None:
        initial, proposed = ctx.initial, ctx.proposed
        if initial is None or proposed is None:
            return
        policy = ctx.run.empirical_policy
        if policy.retries is None or ctx.run.run_count > policy.retries:
            # Out of retries: clear retry_type so a later manual/infra retry is possible.
            update_policy(ctx, retry_type=None)
            return
        update_policy(ctx, resuming=False, pause_keys=set(), retry_type="in_process")
        retry = State(
            type=StateType.SCHEDULED,
            name="AwaitingRetry",
            timestamp=ctx.now,
            message=proposed.message,
            data=proposed.data,
            state_details=StateDetails(
                scheduled_time=ctx.now + datetime.timedelta(seconds=policy.retry_delay or 0),
                # The in-process retry keeps renewing/releasing the same deployment lease.
                deployment_concurrency_lease_id=initial.state_details.deployment_concurrency_lease_id,
            ),
        )
        self.reject(ctx, retry, "Retrying")
