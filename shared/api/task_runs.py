"""/task_runs routes (Prefect 3.9.1 `server/api/task_runs.py` compatible)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/task_runs", tags=["Task Runs"])
