"""Rules specific to task runs (the reference's CoreTaskPolicy concerns, one per class)."""

from __future__ import annotations

import datetime
import random

from shared.orchestration.base import ALL_STATES, TERMINAL, Rule
from shared.orchestration.context import Context
from shared.schemas.states import State, StateDetails, StateType, is_persisted_result
from shared.schemas.task_runs import TaskRun

TaskCtx = Context[TaskRun]

ENCLOSING_FLOW_NOT_RUNNING = "The enclosing flow must be running to begin task execution."


class HandleTaskTerminalStateTransitions(Rule[TaskRun]):
    """Leaving a terminal state: not to crash/pause/cancel, not over a persisted result.

    Leaving for a non-final state resets run_count, so a flow retry gets fresh task retries.
    """

    FROM_STATES = TERMINAL
    TO_STATES = ALL_STATES

    def before(self, ctx: TaskCtx) -> None:
        initial, proposed = ctx.initial, ctx.proposed
        if initial is None or proposed is None:
            return
        self._original_run_count = ctx.run.run_count
        if proposed.type in {StateType.CANCELLING, StateType.PAUSED, StateType.CRASHED}:
            self.abort(ctx, f"Run is already {initial.type.value}.")
            return
        if initial.is_completed() and initial.data and is_persisted_result(initial.data):
            self.reject(ctx, None, "This run is already completed.")
            return
        if not proposed.is_final():
            ctx.run.run_count = 0
        flow_run = ctx.flow_run
        # The task last ran in an earlier attempt of its flow: this is a flow retry.
        if (
            proposed.is_running()
            and ctx.run.flow_run_id is not None
            and flow_run is not None
            and ctx.run.flow_run_run_count < flow_run.run_count
        ):
            self.rename(ctx, "Retrying")

    def cleanup(self, ctx: TaskCtx) -> None:
        if hasattr(self, "_original_run_count"):
            ctx.run.run_count = self._original_run_count


class PreventRunningTasksFromStoppedFlows(Rule[TaskRun]):
    """A task may only start while its flow run is RUNNING (paused flow: task waits Paused)."""

    FROM_STATES = ALL_STATES
    TO_STATES = frozenset({StateType.RUNNING})

    def before(self, ctx: TaskCtx) -> None:
        flow_run = ctx.flow_run
        if flow_run is None:
            return  # no enclosing flow (e.g. a background task)
        flow_state = flow_run.state
        if flow_state is None:
            self.abort(ctx, ENCLOSING_FLOW_NOT_RUNNING)
        elif flow_state.type == StateType.PAUSED:
            # Keep the flow's pause deadline / reschedule flag on the task's Paused state.
            self.reject(
                ctx,
                State(
                    type=StateType.PAUSED,
                    name="NotReady",
                    timestamp=ctx.now,
                    state_details=StateDetails(
                        pause_timeout=flow_state.state_details.pause_timeout,
                        pause_reschedule=flow_state.state_details.pause_reschedule,
                    ),
                ),
                f"The flow is paused, new tasks can execute after resuming flow run: {flow_run.id}.",
            )
        elif flow_state.type != StateType.RUNNING:
            self.abort(ctx, ENCLOSING_FLOW_NOT_RUNNING)


def retry_delay_seconds(run: TaskRun, rng: random.Random | None = None) -> float:
    """The delay before the next attempt: per-attempt list or single value, plus jitter."""
    delay = run.empirical_policy.retry_delay
    if isinstance(delay, list):
        base = float(delay[min(run.run_count - 1, len(delay) - 1)]) if delay else 0.0
    else:
        base = float(delay or 0)
    jitter = run.empirical_policy.retry_jitter_factor
    if not jitter or base <= 0:
        return base
    # Spread retries of many tasks apart: uniform in base*(1 ± jitter), never negative.
    # (The reference samples a clamped Poisson interval; same mean and upper bound.)
    return max(0.0, (rng or random).uniform(base * (1 - jitter), base * (1 + jitter)))


class RetryFailedTasks(Rule[TaskRun]):
    """RUNNING -> FAILED with retries left (and retriable) becomes "AwaitingRetry" (REJECT)."""

    FROM_STATES = frozenset({StateType.RUNNING})
    TO_STATES = frozenset({StateType.FAILED})

    def before(self, ctx: TaskCtx) -> None:
        proposed = ctx.proposed
        if ctx.initial is None or proposed is None:
            return
        if proposed.state_details.retriable is False:
            return  # the task's retry_condition_fn said no
        retries = ctx.run.empirical_policy.retries
        if retries is None or ctx.run.run_count > retries:
            return
        delay = retry_delay_seconds(ctx.run)
        retry = State(
            type=StateType.SCHEDULED,
            name="AwaitingRetry",
            timestamp=ctx.now,
            message=proposed.message,
            data=proposed.data,
            state_details=StateDetails(scheduled_time=ctx.now + datetime.timedelta(seconds=delay)),
        )
        self.reject(ctx, retry, "Retrying")


class UpdateFlowRunTrackerOnTasks(Rule[TaskRun]):
    """Record which attempt of the flow run this task run started in."""

    FROM_STATES = ALL_STATES
    TO_STATES = frozenset({StateType.RUNNING})

    def after(self, ctx: TaskCtx) -> None:
        if ctx.run.flow_run_id is not None and ctx.flow_run is not None:
            ctx.run.flow_run_run_count = ctx.flow_run.run_count
