"""Logs: POST /logs/ takes a JSON list of LogCreate; /logs/filter returns Log objects."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from shared.schemas.base import ActionBaseModel, ObjectBaseModel
from shared.schemas.filters.logs import LogFilter
from shared.schemas.sorting import LogSort
from shared.schemas.types import DateTime, uuid7


class Log(ObjectBaseModel):
    """A stored log line; ids are time ordered like the reference's."""

    id: UUID = Field(default_factory=uuid7)
    name: str
    level: int
    message: str
    timestamp: DateTime
    flow_run_id: UUID | None = None
    task_run_id: UUID | None = None


class LogCreate(ActionBaseModel):
    """One element of the POST /logs/ body.

    The 3.9.1 client only sends worker_id to Prefect Cloud (it drops the key when
    unset); the reference server forbids it, and so do we (extra="forbid").
    """

    name: str
    level: int
    message: str
    timestamp: DateTime
    flow_run_id: UUID | None = None
    task_run_id: UUID | None = None


__all__ = ["Log", "LogCreate", "LogFilter", "LogSort"]
