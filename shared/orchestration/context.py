"""The mutable working context one orchestration pass threads through its rules.

Everything here is in-memory: the caller hands in a run (with its current state) and
gets back a decision. Rules mutate `ctx.run` (a deep copy) and `ctx.proposed`; the
engine decides afterwards whether any of it is persisted.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from uuid import UUID

from shared.schemas.flow_runs import FlowRun
from shared.schemas.responses import (
    SetStateStatus,
    StateAbortDetails,
    StateAcceptDetails,
    StateRejectDetails,
    StateWaitDetails,
)
from shared.schemas.states import State, StateType
from shared.schemas.task_runs import TaskRun

ResponseDetails = StateAcceptDetails | StateRejectDetails | StateAbortDetails | StateWaitDetails
RunT = TypeVar("RunT", FlowRun, TaskRun)


@dataclass(frozen=True)
class SlotState:
    """Concurrency slots as the caller read them (rules decide on this, never do I/O).

    `limit_id`/`limit`/`slot_available`: the limit that governs the run (a deployment's
    concurrency limit, or a task run's `tag:` limits folded into one verdict) — None
    when nothing limits it. `held_lease_id`: the lease the run's current state holds,
    when that lease still exists (`held_lease_live`: and has not expired)."""

    limit_ids: tuple[UUID, ...] = ()
    limit: int | None = None
    slot_available: bool = False
    collision_strategy: str = "ENQUEUE"
    lease_seconds: float = 300.0
    held_lease_id: UUID | None = None
    held_lease_live: bool = False
    # Task runs: every lease the run holds on its tags' limits.
    held_lease_ids: tuple[UUID, ...] = ()
    # Task runs: the tags whose limits are full / zero (for the WAIT / ABORT reasons).
    blocking_names: tuple[str, ...] = ()
    zero_names: tuple[str, ...] = ()
    wait_seconds: float = 30.0


@dataclass
class SlotChanges:
    """What the rules decided about slots; the caller writes it with the new state, in
    one transaction, so a slot is taken (or given back) exactly when the state is."""

    acquire_lease_id: UUID | None = None
    acquire_limit_ids: tuple[UUID, ...] = ()
    acquire_lease_seconds: float = 0.0
    release_lease_ids: list[UUID] = field(default_factory=list)
    renew_lease_id: UUID | None = None
    renew_lease_seconds: float = 0.0

    def __bool__(self) -> bool:
        return bool(self.acquire_lease_id or self.release_lease_ids or self.renew_lease_id)


@dataclass
class Context(Generic[RunT]):
    run: RunT
    initial: State | None
    proposed: State | None
    now: datetime.datetime
    # For task runs: the enclosing flow run, as read by the caller (None if unknown/none).
    flow_run: FlowRun | None = None
    status: SetStateStatus = SetStateStatus.ACCEPT
    details: ResponseDetails = field(default_factory=StateAcceptDetails)
    # The state written by this pass (set by the engine once rules and transforms ran).
    validated: State | None = None
    # Subflows: a copy of the new state for the parent task run (UpdateSubflowParentTask).
    parent_task_run_state: State | None = None
    # Concurrency: the slot state read by the caller, and the slot changes decided.
    slots: SlotState | None = None
    slot_changes: SlotChanges = field(default_factory=SlotChanges)

    @property
    def initial_type(self) -> StateType | None:
        return self.initial.type if self.initial else None

    @property
    def proposed_type(self) -> StateType | None:
        return self.proposed.type if self.proposed else None
