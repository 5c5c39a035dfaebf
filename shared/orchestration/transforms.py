"""Global bookkeeping applied to every written state, forced or not.

These keep the run's denormalised fields (state type/name, start/end/total run time,
expected/next scheduled start, run counts) consistent with the state being written.
"""

from __future__ import annotations

import datetime
from typing import Any

from shared.orchestration.base import Transform
from shared.orchestration.context import Context
from shared.orchestration.flow_rules import update_policy
from shared.schemas.flow_runs import FlowRun
from shared.schemas.task_runs import TaskRun


class EnsureMonotonicStateTimestamp(Transform[Any]):
    """A new state is strictly later than the current one.

    The reference only nudges exact timestamp collisions; we also absorb clock skew
    between Lambda instances, which would otherwise give negative run times.
    """

    def before(self, ctx: Context[Any]) -> None:
        assert ctx.proposed is not None
        if ctx.initial is not None and ctx.proposed.timestamp <= ctx.initial.timestamp:
            ctx.proposed.timestamp = ctx.initial.timestamp + datetime.timedelta(microseconds=1)


class SetRunStateTypeAndName(Transform[Any]):
    def before(self, ctx: Context[Any]) -> None:
        assert ctx.proposed is not None
        ctx.run.state_type = ctx.proposed.type
        ctx.run.state_name = ctx.proposed.name


class SetStartTime(Transform[Any]):
    """First entry into RUNNING."""

    def before(self, ctx: Context[Any]) -> None:
        assert ctx.proposed is not None
        if ctx.proposed.is_running() and ctx.run.start_time is None:
            ctx.run.start_time = ctx.proposed.timestamp


class SetEndTime(Transform[Any]):
    """Entering a final state sets end_time (and start_time if it never ran); leaving clears it."""

    def before(self, ctx: Context[Any]) -> None:
        proposed = ctx.proposed
        assert proposed is not None
        if ctx.initial is not None and ctx.initial.is_final() and not proposed.is_final():
            ctx.run.end_time = None
        if proposed.is_final() and not ctx.run.end_time:
            if not ctx.run.start_time:
                ctx.run.start_time = proposed.timestamp
            ctx.run.end_time = proposed.timestamp


class IncrementRunTime(Transform[Any]):
    """Time spent in RUNNING accumulates into total_run_time."""

    def before(self, ctx: Context[Any]) -> None:
        assert ctx.proposed is not None
        if ctx.initial is not None and ctx.initial.is_running():
            ctx.run.total_run_time += ctx.proposed.timestamp - ctx.initial.timestamp


class SetExpectedStartTime(Transform[Any]):
    """Set once: the first state's scheduled time (or its timestamp if not scheduled)."""

    def before(self, ctx: Context[Any]) -> None:
        proposed = ctx.proposed
        assert proposed is not None
        if not ctx.run.expected_start_time:
            ctx.run.expected_start_time = (
                proposed.state_details.scheduled_time if proposed.is_scheduled() else proposed.timestamp
            )


class SetNextScheduledStartTime(Transform[Any]):
    """Mirrors the scheduled time while the run is SCHEDULED (feeds the due-runs index)."""

    def before(self, ctx: Context[Any]) -> None:
        proposed = ctx.proposed
        assert proposed is not None
        if ctx.initial is not None and ctx.initial.is_scheduled():
            ctx.run.next_scheduled_start_time = None
        if proposed.is_scheduled():
            ctx.run.next_scheduled_start_time = proposed.state_details.scheduled_time


class UpdateStateDetails(Transform[Any]):
    """A state always points back at its run."""

    def before(self, ctx: Context[Any]) -> None:
        assert ctx.proposed is not None
        details = ctx.proposed.state_details
        if isinstance(ctx.run, FlowRun):
            details.flow_run_id = ctx.run.id
        else:
            details.flow_run_id = ctx.run.flow_run_id
            details.task_run_id = ctx.run.id


class UpdateSubflowStateDetails(Transform[FlowRun]):
    """A subflow's states reference the parent flow's task run that tracks it."""

    def before(self, ctx: Context[FlowRun]) -> None:
        assert ctx.proposed is not None
        if ctx.run.parent_task_run_id is not None:
            ctx.proposed.state_details.task_run_id = ctx.run.parent_task_run_id


class UpdateSubflowParentTask(Transform[FlowRun]):
    """A subflow's new state is mirrored on its parent task run (the caller forces it there)."""

    def after(self, ctx: Context[FlowRun]) -> None:
        if ctx.run.parent_task_run_id is None or ctx.validated is None:
            return
        copy = ctx.validated.fresh_copy(now=ctx.validated.timestamp)
        copy.state_details.child_flow_run_id = ctx.run.id
        ctx.parent_task_run_state = copy


class IncrementFlowRunCount(Transform[FlowRun]):
    """Each entry into RUNNING is an attempt, except resuming after a pause."""

    def before(self, ctx: Context[FlowRun]) -> None:
        assert ctx.proposed is not None
        if ctx.proposed.is_running() and not ctx.run.empirical_policy.resuming:
            ctx.run.run_count += 1


class RemoveResumingIndicator(Transform[FlowRun]):
    """The resume is over once the run runs again or finishes."""

    def before(self, ctx: Context[FlowRun]) -> None:
        proposed = ctx.proposed
        assert proposed is not None
        if (proposed.is_running() or proposed.is_final()) and ctx.run.empirical_policy.resuming:
            update_policy(ctx, resuming=False)


class IncrementTaskRunCount(Transform[TaskRun]):
    def before(self, ctx: Context[TaskRun]) -> None:
        assert ctx.proposed is not None
        if ctx.proposed.is_running():
            ctx.run.run_count += 1
