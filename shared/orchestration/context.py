"""The mutable working context one orchestration pass threads through its rules.

Everything here is in-memory: the caller hands in a run (with its current state) and
gets back a decision. Rules mutate `ctx.run` (a deep copy) and `ctx.proposed`; the
engine decides afterwards whether any of it is persisted.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Generic, TypeVar, Union

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

ResponseDetails = Union[StateAcceptDetails, StateRejectDetails, StateAbortDetails, StateWaitDetails]
RunT = TypeVar("RunT", FlowRun, TaskRun)


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

    @property
    def initial_type(self) -> StateType | None:
        return self.initial.type if self.initial else None

    @property
    def proposed_type(self) -> StateType | None:
        return self.proposed.type if self.proposed else None
