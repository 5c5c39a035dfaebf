"""/flow_run_states routes (Prefect 3.9.1 `server/api/flow_run_states.py` compatible)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/flow_run_states", tags=["Flow Run States"])
