"""/logs routes (Prefect 3.9.1 `server/api/logs.py` compatible)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/logs", tags=["Logs"])
