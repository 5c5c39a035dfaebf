"""/task_run_states routes (Prefect 3.9.1 `server/api/task_run_states.py` compatible)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/task_run_states", tags=["Task Run States"])
