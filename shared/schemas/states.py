"""Run states: the JSON shape Prefect 3.9.1 clients send and read back.

`StateCreate` is what a client POSTs (`/flow_runs/{id}/set_state`, run creation);
`State` is what the server stores and returns. Field names, defaults and the
name-from-type rule match the reference so `prefect.client.schemas.State` parses ours.
"""

from __future__ import annotations

import datetime
import enum
from typing import Annotated, Any, ClassVar, Self
from uuid import UUID

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from shared.schemas.base import ActionBaseModel, APIBaseModel
from shared.schemas.types import DateTime, now_utc, uuid7


class StateType(str, enum.Enum):
    """The nine state types; the value is the JSON string."""

    SCHEDULED = "SCHEDULED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    CRASHED = "CRASHED"
    PAUSED = "PAUSED"
    CANCELLING = "CANCELLING"


TERMINAL_STATES: frozenset[StateType] = frozenset(
    {StateType.COMPLETED, StateType.CANCELLED, StateType.FAILED, StateType.CRASHED}
)

# Keys the reference strips from a state's `data` dict (it moves them onto the result
# artifact it creates), so they never come back in a response.
_ARTIFACT_KEYS = ("artifact_key", "artifact_type", "artifact_description")


def default_state_name(state_type: StateType) -> str:
    # "CANCELLING" -> "Cancelling"; written generally because the reference splits on "_".
    return " ".join(part.capitalize() for part in state_type.value.split("_"))


def sanitize_state_data(data: Any) -> Any:
    """The `data` the reference returns for a proposed state: artifact_* keys removed."""
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if k not in _ARTIFACT_KEYS}
    return data


def is_persisted_result(data: Any) -> bool:
    """True if `data` is result metadata worth storing (the reference drops "unpersisted")."""
    return isinstance(data, dict) and data.get("type") != "unpersisted"


class StateDetails(APIBaseModel):
    flow_run_id: UUID | None = None
    task_run_id: UUID | None = None
    # for task runs that represent subflows, the subflow's run id
    child_flow_run_id: UUID | None = None
    scheduled_time: DateTime | None = None
    cache_key: str | None = None
    cache_expiration: DateTime | None = None
    deferred: bool | None = False
    untrackable_result: bool = False
    pause_timeout: DateTime | None = None
    pause_reschedule: bool = False
    pause_key: str | None = None
    run_input_keyset: dict[str, str] | None = None
    refresh_cache: bool | None = None
    retriable: bool | None = None
    transition_id: UUID | None = None
    task_parameters_id: UUID | None = None
    # trace id / span id of the span that created this state
    traceparent: str | None = None
    # lease holding the deployment concurrency slot for this run
    deployment_concurrency_lease_id: UUID | None = None


def _apply_state_defaults(state: StateCreate | State) -> None:
    # Shared by State and StateCreate, as in the reference: name defaults from the type,
    # and a Scheduled state without a scheduled_time is scheduled for now.
    if state.name is None:
        state.name = default_state_name(state.type)
    if state.type == StateType.SCHEDULED and not state.state_details.scheduled_time:
        state.state_details.scheduled_time = now_utc()


def _confined_storage_key(data: Any) -> Any:
    """A result record's storage_key may not climb out of its storage root (`..` segments, NUL).

    Absolute keys stay allowed: the reference client writes local results under their full path
    (its result store resolves the key against the storage block's base path), and any reader
    confines them to its own roots (the SDK does, sdk/serverflow/results.py)."""
    if isinstance(data, dict) and isinstance(data.get("storage_key"), str):
        key: str = data["storage_key"]
        segments = key.replace("\\", "/").split("/")
        if ".." in segments or "\x00" in key:
            raise ValueError("storage_key must not contain '..' path segments or NUL characters")
    return data


class StateCreate(ActionBaseModel):
    """What a client proposes. Unknown top-level fields are a 422, like the reference."""

    type: StateType
    name: str | None = None
    message: str | None = None
    data: Annotated[Any | None, AfterValidator(_confined_storage_key)] = None
    state_details: StateDetails = Field(default_factory=StateDetails)

    @model_validator(mode="after")
    def _defaults(self) -> Self:
        _apply_state_defaults(self)
        return self


class State(APIBaseModel):
    """A stored / returned state. `id` is a UUIDv7 so ids sort by creation time."""

    model_config: ClassVar[ConfigDict] = ConfigDict(
        extra="ignore", ser_json_timedelta="float", populate_by_name=True, from_attributes=True
    )

    id: UUID = Field(default_factory=uuid7)
    type: StateType
    name: str | None = None
    timestamp: DateTime = Field(default_factory=now_utc)
    message: str | None = None
    data: Any | None = Field(
        default=None,
        description="Data associated with the state, e.g. a result. Content must be storable as JSON.",
    )
    state_details: StateDetails = Field(default_factory=StateDetails)

    @model_validator(mode="after")
    def _defaults(self) -> Self:
        _apply_state_defaults(self)
        return self

    @classmethod
    def from_create(cls, proposed: StateCreate | State, *, now: datetime.datetime | None = None) -> State:
        """A new server-side state for a proposal: fresh id, server timestamp, sanitized data."""
        return cls(
            type=proposed.type,
            name=proposed.name,
            message=proposed.message,
            data=sanitize_state_data(proposed.data),
            state_details=proposed.state_details.model_copy(deep=True),
            timestamp=now or now_utc(),
        )

    def to_state_create(self) -> StateCreate:
        return StateCreate(
            type=self.type,
            name=self.name,
            message=self.message,
            data=self.data,
            state_details=self.state_details.model_copy(deep=True),
        )

    def fresh_copy(self, *, now: datetime.datetime | None = None) -> State:
        """Same content, new id and timestamp (e.g. the subflow state copied to its parent task)."""
        return self.model_copy(update={"id": uuid7(), "timestamp": now or now_utc()}, deep=True)

    def is_scheduled(self) -> bool:
        return self.type == StateType.SCHEDULED

    def is_pending(self) -> bool:
        return self.type == StateType.PENDING

    def is_running(self) -> bool:
        return self.type == StateType.RUNNING

    def is_completed(self) -> bool:
        return self.type == StateType.COMPLETED

    def is_failed(self) -> bool:
        return self.type == StateType.FAILED

    def is_crashed(self) -> bool:
        return self.type == StateType.CRASHED

    def is_cancelled(self) -> bool:
        return self.type == StateType.CANCELLED

    def is_cancelling(self) -> bool:
        return self.type == StateType.CANCELLING

    def is_paused(self) -> bool:
        return self.type == StateType.PAUSED

    def is_final(self) -> bool:
        return self.type in TERMINAL_STATES

    def __str__(self) -> str:
        extra = [repr(self.message)] if self.message else []
        if self.type.value.lower() != (self.name or "").lower():
            extra.append(f"type={self.type.value}")
        return f"{self.name}({', '.join(extra)})"
