"""/flow_runs routes (Prefect 3.9.1 `server/api/flow_runs.py` compatible)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/flow_runs", tags=["Flow Runs"])
