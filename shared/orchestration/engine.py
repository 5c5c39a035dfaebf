"""Public entry points: decide a proposed transition for a flow run or task run.

Pure: nothing is read or written here. The caller loads the run (with `run.state`,
including its `data`), calls one of these, and, when `outcome.write` is True, writes
`outcome.state` and `outcome.run` with a condition on the run's *previous* state id,
so that of two racing proposals exactly one is written (the loser re-reads and
re-orchestrates, or reports the conflict).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic

from shared.orchestration.base import Rule, Transform
from shared.orchestration.context import Context, ResponseDetails, RunT, SlotChanges, SlotState
from shared.orchestration.policies import (
    CORE_FLOW_POLICY,
    CORE_TASK_POLICY,
    GLOBAL_FLOW_TRANSFORMS,
    GLOBAL_TASK_TRANSFORMS,
    MINIMAL_FLOW_POLICY,
    MINIMAL_TASK_POLICY,
)
from shared.schemas.flow_runs import FlowRun
from shared.schemas.responses import (
    OrchestrationResult,
    SetStateStatus,
    StateAbortDetails,
)
from shared.schemas.states import State, StateCreate, StateDetails, StateType
from shared.schemas.task_runs import TaskRun
from shared.schemas.types import now_utc


@dataclass(frozen=True)
class OrchestrationOutcome(Generic[RunT]):
    status: SetStateStatus
    details: ResponseDetails
    # The state to return to the client: the new state if written, else the current one.
    state: State | None
    # The run with updated denormalised fields; persist it (with `state`) when `write`.
    run: RunT
    # True if `state` is new and must be persisted together with `run`.
    write: bool
    # Subflows: the new state mirrored for the parent task run. The caller applies it with
    # orchestrate_task_run(parent_task_run, outcome.parent_task_run_state, force=True)
    # and persists that outcome too (the reference does the same in one transaction).
    parent_task_run_state: State | None = None
    # Concurrency slots to take / give back / renew with the new state (same transaction).
    slot_changes: SlotChanges | None = None

    @property
    def http_status(self) -> int:
        """201 when a new state was created, else 200 (as the reference answers)."""
        return 201 if self.write else 200

    def to_result(self) -> OrchestrationResult:
        """The response body for set_state / resume."""
        return OrchestrationResult(state=self.state, status=self.status, details=self.details)


def _run_pipeline(
    ctx: Context[RunT],
    rule_types: Sequence[type[Rule[RunT]]],
    transform_types: Sequence[type[Transform[RunT]]],
) -> Context[RunT]:
    # Every rule is bound to the transition as first proposed; once one rule changes it
    # (reject/wait/abort), the later ones no longer apply.
    from_type, to_type = ctx.initial_type, ctx.proposed_type
    entered: list[Rule[RunT]] = []
    for rule_type in rule_types:
        rule = rule_type(from_type, to_type)
        if rule.applies(ctx):
            rule.before(ctx)
            entered.append(rule)

    transforms = [t() for t in transform_types]
    if ctx.proposed is not None:
        for transform in transforms:
            transform.before(ctx)
        ctx.validated = ctx.proposed
        _point_run_at(ctx.run, ctx.validated)
        for transform in reversed(transforms):
            transform.after(ctx)

    for rule in reversed(entered):
        if rule.fizzled(ctx):
            rule.cleanup(ctx)
        else:
            rule.after(ctx)
    return ctx


def _point_run_at(run: FlowRun | TaskRun, state: State) -> None:
    run.state = state
    run.state_id = state.id
    run.state_type = state.type
    run.state_name = state.name


def _outcome(original: RunT, ctx: Context[RunT]) -> OrchestrationOutcome[RunT]:
    written = ctx.validated is not None
    return OrchestrationOutcome(
        status=ctx.status,
        details=ctx.details,
        state=ctx.validated if written else original.state,
        # Nothing is persisted without a new state, so hand back the run untouched.
        run=ctx.run if written else original,
        write=written,
        parent_task_run_state=ctx.parent_task_run_state if written else None,
        slot_changes=ctx.slot_changes if written and ctx.slot_changes else None,
    )


def _context(
    run: RunT,
    proposed: StateCreate | State,
    now: datetime.datetime | None,
    flow_run: FlowRun | None = None,
    slots: SlotState | None = None,
) -> Context[RunT]:
    now = now or now_utc()
    working = run.model_copy(deep=True)
    return Context(
        run=working,
        initial=working.state.model_copy(deep=True) if working.state else None,
        proposed=State.from_create(proposed, now=now),
        now=now,
        flow_run=flow_run,
        slots=slots,
    )


def orchestrate_flow_run(
    run: FlowRun,
    proposed: StateCreate | State,
    *,
    force: bool = False,
    now: datetime.datetime | None = None,
    slots: SlotState | None = None,
) -> OrchestrationOutcome[FlowRun]:
    """Decide `POST /flow_runs/{id}/set_state`. force=True skips the rules, not the bookkeeping.

    `slots`: the deployment concurrency slot state, when the run has a limited deployment."""
    ctx = _context(run, proposed, now, slots=slots)
    rules = MINIMAL_FLOW_POLICY if force else CORE_FLOW_POLICY
    return _outcome(run, _run_pipeline(ctx, rules, GLOBAL_FLOW_TRANSFORMS))


def orchestrate_task_run(
    run: TaskRun,
    proposed: StateCreate | State,
    *,
    force: bool = False,
    flow_run: FlowRun | None = None,
    now: datetime.datetime | None = None,
    slots: SlotState | None = None,
) -> OrchestrationOutcome[TaskRun]:
    """Decide `POST /task_runs/{id}/set_state`.

    Pass the enclosing `flow_run` (with its state) whenever `run.flow_run_id` is set:
    tasks may only start while it is RUNNING, and retries are tracked per flow attempt.
    """
    ctx = _context(run, proposed, now, flow_run=flow_run, slots=slots)
    rules = MINIMAL_TASK_POLICY if force else CORE_TASK_POLICY
    return _outcome(run, _run_pipeline(ctx, rules, GLOBAL_TASK_TRANSFORMS))


NOT_PAUSED_REASON = "Cannot resume a flow run that is not paused."


def resume_flow_run(
    run: FlowRun,
    *,
    run_input_error: str | None = None,
    now: datetime.datetime | None = None,
) -> OrchestrationOutcome[FlowRun]:
    """Decide `POST /flow_runs/{id}/resume`.

    The caller does the I/O first: if the paused state has a `run_input_keyset`, it
    hydrates and validates the posted `run_input` against the stored schema and passes
    the failure text as `run_input_error` ("Run input schema not found.", "Run input
    schema is not valid JSON.", "Reason: ..."). On ACCEPT it stores the input under
    `keyset["response"]`.
    """
    now = now or now_utc()
    state = run.state
    if state is None or state.type != StateType.PAUSED:
        return OrchestrationOutcome(
            status=SetStateStatus.ABORT,
            details=StateAbortDetails(reason=NOT_PAUSED_REASON),
            state=None,
            run=run,
            write=False,
        )
    if run_input_error is not None:
        # The reference answers REJECT carrying abort_details here; clients rely on the text.
        return OrchestrationOutcome(
            status=SetStateStatus.REJECT,
            details=StateAbortDetails(reason=run_input_error),
            state=state,
            run=run,
            write=False,
        )
    if state.state_details.pause_reschedule:
        # Suspended: the process is gone, so the run goes back to a worker.
        proposal = StateCreate(
            type=StateType.SCHEDULED, name="Resuming", state_details=StateDetails(scheduled_time=now)
        )
    else:
        # Blocking pause: the flow process is waiting, it continues in place.
        proposal = StateCreate(type=StateType.RUNNING)
    return orchestrate_flow_run(run, proposal, now=now)
