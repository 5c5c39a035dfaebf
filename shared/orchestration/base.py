"""Rule and transform base classes.

A rule governs one concern for a set of (from, to) state types. It sees the transition
only if the transition is still the one it was created for: once an earlier rule
rejects, delays or aborts, later rules stay out of it. A rule whose transition was
changed by a later rule "fizzles" and gets `cleanup` instead of `after` (to undo its
`before` side-effects). Transforms are the global bookkeeping: they run after all rules,
whenever a state is still going to be written, and never change the outcome.
"""

from __future__ import annotations

from typing import ClassVar, Generic

from shared.orchestration.context import Context, RunT
from shared.schemas.responses import (
    SetStateStatus,
    StateAbortDetails,
    StateRejectDetails,
    StateWaitDetails,
)
from shared.schemas.states import State, StateType

# None stands for "the run has no state yet" (from) or "no new state" (to).
ALL_STATES: frozenset[StateType | None] = frozenset({*StateType, None})
TERMINAL: frozenset[StateType | None] = frozenset(
    {StateType.COMPLETED, StateType.FAILED, StateType.CANCELLED, StateType.CRASHED}
)


class Rule(Generic[RunT]):
    FROM_STATES: ClassVar[frozenset[StateType | None]] = frozenset()
    TO_STATES: ClassVar[frozenset[StateType | None]] = frozenset()

    def __init__(self, from_type: StateType | None, to_type: StateType | None) -> None:
        self.from_type = from_type
        self.to_type = to_type

    # --- lifecycle (driven by the engine) ---------------------------------------

    def applies(self, ctx: Context[RunT]) -> bool:
        return (
            self.from_type in self.FROM_STATES and self.to_type in self.TO_STATES and not self._transition_changed(ctx)
        )

    def fizzled(self, ctx: Context[RunT]) -> bool:
        return self._transition_changed(ctx)

    def _transition_changed(self, ctx: Context[RunT]) -> bool:
        return (self.from_type, self.to_type) != (ctx.initial_type, ctx.proposed_type)

    def before(self, ctx: Context[RunT]) -> None:
        """Inspect / govern the proposal before anything is written."""

    def after(self, ctx: Context[RunT]) -> None:
        """Bookkeeping once the (possibly changed) transition this rule saw is final."""

    def cleanup(self, ctx: Context[RunT]) -> None:
        """Undo `before` side-effects when a later rule changed the transition."""

    # --- outcomes ---------------------------------------------------------------

    def reject(self, ctx: Context[RunT], state: State | None, reason: str) -> None:
        """Replace the proposal by `state`, or by nothing (the current state is returned)."""
        # Track the new target so this rule itself does not fizzle.
        self.to_type = state.type if state else None
        ctx.proposed = state
        ctx.status = SetStateStatus.REJECT
        ctx.details = StateRejectDetails(reason=reason)

    def delay(self, ctx: Context[RunT], delay_seconds: int, reason: str) -> None:
        self.to_type = None
        ctx.proposed = None
        ctx.status = SetStateStatus.WAIT
        ctx.details = StateWaitDetails(delay_seconds=delay_seconds, reason=reason)

    def abort(self, ctx: Context[RunT], reason: str) -> None:
        self.to_type = None
        ctx.proposed = None
        ctx.status = SetStateStatus.ABORT
        ctx.details = StateAbortDetails(reason=reason)

    def rename(self, ctx: Context[RunT], name: str) -> None:
        if ctx.proposed is not None:
            ctx.proposed.name = name


class Transform(Generic[RunT]):
    """Global bookkeeping; `before` runs only when a state will be written."""

    def before(self, ctx: Context[RunT]) -> None:
        """Update the run's denormalised fields / the proposed state."""

    def after(self, ctx: Context[RunT]) -> None:
        """Runs once `ctx.validated` is set."""
