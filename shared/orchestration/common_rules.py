"""Rules shared by the flow-run and task-run policies."""

from __future__ import annotations

import math
from typing import Any

from shared.orchestration.base import ALL_STATES, Rule
from shared.orchestration.context import Context
from shared.schemas.states import StateType


class CopyScheduledTime(Rule[Any]):
    """SCHEDULED -> PENDING keeps the scheduled time unless the proposal brings its own."""

    FROM_STATES = frozenset({StateType.SCHEDULED})
    TO_STATES = frozenset({StateType.PENDING})

    def before(self, ctx: Context[Any]) -> None:
        if ctx.initial is None or ctx.proposed is None:
            return
        if not ctx.proposed.state_details.scheduled_time:
            ctx.proposed.state_details.scheduled_time = ctx.initial.state_details.scheduled_time


def whole_seconds_until(delay_seconds: float) -> int:
    # The API field is an int; round to the nearest second, a half rounds down
    # (as the reference does, so a client never wakes up early by half a second more).
    whole = math.floor(delay_seconds)
    return whole + (1 if delay_seconds - whole > 0.5 else 0)


class WaitForScheduledTime(Rule[Any]):
    """Starting before the scheduled time is answered with WAIT (server clock decides)."""

    FROM_STATES = frozenset({StateType.SCHEDULED, StateType.PENDING})
    TO_STATES = frozenset({StateType.RUNNING})

    def before(self, ctx: Context[Any]) -> None:
        if ctx.initial is None or ctx.proposed is None:
            return
        scheduled_time = ctx.initial.state_details.scheduled_time
        if not scheduled_time:
            return
        delay_seconds = whole_seconds_until((scheduled_time - ctx.now).total_seconds())
        if delay_seconds > 0:
            self.delay(ctx, delay_seconds, "Scheduled time is in the future")


class PreventPendingTransitions(Rule[Any]):
    """Only one claimer may move a run to PENDING: the loser of the race is aborted.

    PENDING -> PENDING is allowed when it names a sub-state ("Submitting",
    "InfrastructurePending"), so a worker can progress without re-claiming.
    """

    FROM_STATES = frozenset({StateType.PENDING, StateType.CANCELLING, StateType.RUNNING, StateType.CANCELLED})
    TO_STATES = frozenset({StateType.PENDING})

    def before(self, ctx: Context[Any]) -> None:
        initial, proposed = ctx.initial, ctx.proposed
        if initial is None or proposed is None:
            return
        if initial.type == StateType.PENDING and initial.name != proposed.name and proposed.name != "Pending":
            # Sub-state: keep what earlier transitions recorded on the Pending state.
            proposed.state_details.scheduled_time = initial.state_details.scheduled_time
            proposed.state_details.deployment_concurrency_lease_id = (
                initial.state_details.deployment_concurrency_lease_id
            )
            return
        self.abort(
            ctx,
            f"This run is in a {initial.type.value} state and cannot transition to a PENDING state.",
        )


class RenameReruns(Rule[Any]):
    """A run that already ran is "Retrying" (after AwaitingRetry) or "Rerunning"."""

    FROM_STATES = ALL_STATES
    TO_STATES = frozenset({StateType.RUNNING})

    def before(self, ctx: Context[Any]) -> None:
        if ctx.initial is None or ctx.proposed is None:
            return
        if ctx.run.run_count > 0:
            self.rename(ctx, "Retrying" if ctx.initial.name == "AwaitingRetry" else "Rerunning")
