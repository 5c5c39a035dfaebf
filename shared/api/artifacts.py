"""/artifacts routes (Prefect 3.9.1 `server/api/artifacts.py` compatible)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/artifacts", tags=["Artifacts"])
