"""/events routes (Prefect 3.9.1 `server/api/events.py` compatible)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/events", tags=["Events"])
