"""Task workers (`prefect.task_worker` / `Task.serve`) seen by the server (Prefect 3.9.1 `TaskWorkerResponse`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from shared.schemas.types import DateTime


class TaskWorkerResponse(BaseModel):
    identifier: str
    task_keys: list[str]
    timestamp: DateTime


class TaskWorkerFilter(BaseModel):
    # The reference's plain BaseModel: unknown fields are ignored.
    model_config = ConfigDict(extra="ignore")

    task_keys: list[str]


__all__ = ["TaskWorkerFilter", "TaskWorkerResponse"]
