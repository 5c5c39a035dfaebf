"""Run states: what a flow or task call returns with ``return_state=True``, and what futures resolve to.

A plain class rather than a pydantic model: the task engine creates several per task run, and a 1,000-task
flow should not pay validation for each.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any, Generic, TypeVar

from . import _time
from ._ids import uuid7
from .exceptions import CancelledRun, CrashedRun, FailedRun, MissingResult

R = TypeVar("R")

_UNSET: Any = object()


class StateType(str, enum.Enum):
    SCHEDULED = "SCHEDULED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    CRASHED = "CRASHED"
    PAUSED = "PAUSED"
    CANCELLING = "CANCELLING"


TERMINAL = frozenset({StateType.COMPLETED, StateType.FAILED, StateType.CANCELLED, StateType.CRASHED})


class State(Generic[R]):
    """A run's state. ``data`` is the wire form (result-record metadata or None); the value stays in memory."""

    __slots__ = ("_value", "data", "id", "message", "name", "state_details", "timestamp", "type")

    def __init__(
        self,
        type: StateType | str,
        name: str | None = None,
        message: str | None = None,
        *,
        timestamp: datetime | None = None,
        state_details: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        id: uuid.UUID | None = None,
        value: Any = _UNSET,
    ) -> None:
        self.type = StateType(type)
        self.name = name or self.type.value.title()
        self.message = message
        self.timestamp = timestamp or _time.now()
        self.state_details: dict[str, Any] = dict(state_details or {})
        self.data = data
        self.id = id or uuid7()
        self._value = value

    # --- predicates -----------------------------------------------------------------------------------------
    def is_scheduled(self) -> bool:
        return self.type is StateType.SCHEDULED

    def is_pending(self) -> bool:
        return self.type is StateType.PENDING

    def is_running(self) -> bool:
        return self.type is StateType.RUNNING

    def is_completed(self) -> bool:
        return self.type is StateType.COMPLETED

    def is_failed(self) -> bool:
        return self.type is StateType.FAILED

    def is_crashed(self) -> bool:
        return self.type is StateType.CRASHED

    def is_cancelled(self) -> bool:
        return self.type is StateType.CANCELLED

    def is_cancelling(self) -> bool:
        return self.type is StateType.CANCELLING

    def is_paused(self) -> bool:
        return self.type is StateType.PAUSED

    def is_final(self) -> bool:
        return self.type in TERMINAL

    # --- results --------------------------------------------------------------------------------------------
    def result(self, raise_on_failure: bool = True) -> R:
        """The run's return value; re-raises the run's exception for failed runs (Prefect semantics)."""
        if self.type is StateType.COMPLETED:
            return self._load_value()
        if not raise_on_failure:
            return self._value if self._value is not _UNSET else None  # type: ignore[return-value]  # no value is None, as Prefect's result(raise_on_failure=False) answers
        if isinstance(self._value, BaseException):
            raise self._value
        if isinstance(self._value, State):
            inner: R = self._value.result()
            return inner
        error = {
            StateType.CANCELLED: CancelledRun,
            StateType.CRASHED: CrashedRun,
        }.get(self.type, FailedRun)
        if self.type in TERMINAL:
            raise error(self.message or f"Run is in {self.name} state.")
        raise MissingResult(f"Run is in {self.name} state; it has no result yet.")

    async def aresult(self, raise_on_failure: bool = True) -> R:
        return self.result(raise_on_failure=raise_on_failure)

    def _load_value(self) -> R:
        if self._value is not _UNSET:
            return self._value  # type: ignore[no-any-return]  # the value this state was made with is the run's R
        if self.data and self.data.get("storage_key"):
            from .results import ResultStore

            self._value = ResultStore.read_record(self.data)
            return self._value  # type: ignore[no-any-return]  # the value this state was made with is the run's R
        raise MissingResult(
            f"State {self.name!r} has no result in memory and none was persisted; set persist_result=True."
        )

    @property
    def has_value(self) -> bool:
        return self._value is not _UNSET

    def set_value(self, value: Any) -> None:
        self._value = value

    # --- wire format ----------------------------------------------------------------------------------------
    def to_create(self) -> dict[str, Any]:
        """Body of ``state`` in ``POST .../set_state`` and ``POST /flow_runs/`` (prefect's StateCreate)."""
        return {
            "type": self.type.value,
            "name": self.name,
            "message": self.message,
            "data": self.data,
            "state_details": self.state_details,
        }

    @classmethod
    def from_api(cls, model: Any) -> State[Any]:
        """From a client ``StateModel`` (or its dict)."""
        raw = model if isinstance(model, dict) else model.model_dump(mode="json")
        details = {k: v for k, v in (raw.get("state_details") or {}).items() if v is not None}
        data = raw.get("data")
        return cls(
            raw["type"],
            raw.get("name"),
            raw.get("message"),
            timestamp=_time.parse(raw.get("timestamp")),
            state_details=details,
            data=data if isinstance(data, dict) and "storage_key" in data else None,
            id=uuid.UUID(str(raw["id"])) if raw.get("id") else None,
        )

    def copy(self, **changes: Any) -> State[R]:
        new: State[R] = State(
            changes.get("type", self.type),
            changes.get("name", self.name),
            changes.get("message", self.message),
            timestamp=changes.get("timestamp", _time.now()),
            state_details=changes.get("state_details", self.state_details),
            data=changes.get("data", self.data),
            value=changes.get("value", self._value),
        )
        return new

    def __repr__(self) -> str:
        message = f"message={self.message!r}, " if self.message else ""
        return f"{self.name}({message}type={self.type.value})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, State) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)


# --- factories, named as in Prefect so flow code ports unchanged ------------------------------------------------
def Scheduled(
    scheduled_time: datetime | None = None, name: str = "Scheduled", message: str | None = None
) -> State[Any]:
    details = {"scheduled_time": _time.iso(scheduled_time or _time.now())}
    return State(StateType.SCHEDULED, name, message, state_details=details)


def AwaitingRetry(scheduled_time: datetime | None = None, message: str | None = None) -> State[Any]:
    return Scheduled(scheduled_time, name="AwaitingRetry", message=message)


def Pending(name: str = "Pending", message: str | None = None) -> State[Any]:
    return State(StateType.PENDING, name, message)


def Running(name: str = "Running", message: str | None = None) -> State[Any]:
    return State(StateType.RUNNING, name, message)


def Retrying(message: str | None = None) -> State[Any]:
    return State(StateType.RUNNING, "Retrying", message)


def Completed(value: Any = None, name: str = "Completed", message: str | None = None) -> State[Any]:
    return State(StateType.COMPLETED, name, message, value=value)


def Cached(value: Any = None, message: str | None = None) -> State[Any]:
    return State(StateType.COMPLETED, "Cached", message, value=value)


def Failed(exc: BaseException | None = None, name: str = "Failed", message: str | None = None) -> State[Any]:
    return State(StateType.FAILED, name, message, value=exc if exc is not None else _UNSET)


def TimedOut(exc: BaseException | None = None, message: str | None = None) -> State[Any]:
    return Failed(exc, name="TimedOut", message=message)


def Crashed(exc: BaseException | None = None, message: str | None = None) -> State[Any]:
    return State(StateType.CRASHED, "Crashed", message, value=exc if exc is not None else _UNSET)


def Cancelled(message: str | None = None) -> State[Any]:
    return State(StateType.CANCELLED, "Cancelled", message)


def Cancelling(message: str | None = None) -> State[Any]:
    return State(StateType.CANCELLING, "Cancelling", message)
