"""Builders for orchestration tests: runs sitting in a given state at a fixed clock."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from shared.orchestration import orchestrate_flow_run
from shared.schemas.flow_runs import FlowRun, FlowRunPolicy
from shared.schemas.states import State, StateCreate, StateDetails, StateType
from shared.schemas.task_runs import TaskRun

NOW = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.UTC)


def at(seconds: float) -> datetime.datetime:
    return NOW + datetime.timedelta(seconds=seconds)


def state(type_: str, *, name: str | None = None, timestamp: datetime.datetime = NOW, **details: Any) -> State:
    return State(type=StateType(type_), name=name, timestamp=timestamp, state_details=StateDetails(**details))


def propose(type_: str, *, name: str | None = None, data: Any = None, **details: Any) -> StateCreate:
    return StateCreate(type=StateType(type_), name=name, data=data, state_details=StateDetails(**details))


def flow_run(current: State | None = None, **fields: Any) -> FlowRun:
    run = FlowRun(flow_id=uuid.uuid4(), **fields)
    if current is not None:
        run.state, run.state_id = current, current.id
        run.state_type, run.state_name = current.type, current.name
    return run


def task_run(current: State | None = None, **fields: Any) -> TaskRun:
    run = TaskRun(task_key="t", dynamic_key="0", **fields)
    if current is not None:
        run.state, run.state_id = current, current.id
        run.state_type, run.state_name = current.type, current.name
    return run


def advance(run: FlowRun, type_: str, when: datetime.datetime, **kwargs: Any) -> FlowRun:
    """Propose and require a written state; return the run to persist."""
    outcome = orchestrate_flow_run(run, propose(type_, **kwargs), now=when)
    assert outcome.write, (outcome.status, outcome.details)
    return outcome.run


__all__ = ["NOW", "FlowRunPolicy", "advance", "at", "flow_run", "propose", "state", "task_run"]
