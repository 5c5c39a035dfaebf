"""Orchestration responses (`set_state`, `resume`) and run-history aggregates.

The `type` literal on each details model is what the prefect client dispatches on,
so the values must stay exactly "accept_details", "reject_details", ...
"""

from __future__ import annotations

import datetime
import enum
from typing import Annotated, Literal

from pydantic import Field

from shared.schemas.base import APIBaseModel
from shared.schemas.states import State, StateType
from shared.schemas.types import DateTime


class SetStateStatus(str, enum.Enum):
    """Outcome of a proposed transition."""

    ACCEPT = "ACCEPT"
    REJECT = "REJECT"
    ABORT = "ABORT"
    WAIT = "WAIT"


class StateAcceptDetails(APIBaseModel):
    type: Literal["accept_details"] = "accept_details"


class StateRejectDetails(APIBaseModel):
    type: Literal["reject_details"] = "reject_details"
    reason: str | None = Field(default=None, description="Why the transition was rejected.")


class StateAbortDetails(APIBaseModel):
    type: Literal["abort_details"] = "abort_details"
    reason: str | None = Field(default=None, description="Why the transition was aborted.")


class StateWaitDetails(APIBaseModel):
    type: Literal["wait_details"] = "wait_details"
    delay_seconds: int = Field(description="Seconds the client should wait before proposing again.")
    reason: str | None = Field(default=None, description="Why the transition should wait.")


StateResponseDetails = Annotated[
    StateAcceptDetails | StateWaitDetails | StateRejectDetails | StateAbortDetails,
    Field(discriminator="type"),
]


class OrchestrationResult(APIBaseModel):
    """Body of `POST /flow_runs/{id}/set_state` (and task runs, resume)."""

    state: State | None
    status: SetStateStatus
    details: StateResponseDetails


class HistoryResponseState(APIBaseModel):
    """One state's aggregate over a history interval."""

    state_type: StateType
    state_name: str
    count_runs: int
    sum_estimated_run_time: datetime.timedelta
    sum_estimated_lateness: datetime.timedelta


class HistoryResponse(APIBaseModel):
    """State aggregates over one interval of `POST /{flow_runs,task_runs}/history`."""

    interval_start: DateTime
    interval_end: DateTime
    states: list[HistoryResponseState]
