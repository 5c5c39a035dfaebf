"""POST /flow_runs/history and /task_runs/history share their interval checks and bucketing."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from fastapi import HTTPException, status

from shared.schemas.responses import HistoryResponse
from shared.storage import flow_runs_history


def history_interval(seconds: float) -> datetime.timedelta:
    """The bucket size, or a 422 like the reference's for less than a second."""
    if seconds < 1:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY, detail="History interval must not be less than 1 second."
        )
    try:
        return datetime.timedelta(seconds=seconds)
    except (OverflowError, ValueError):  # "NaN"/"Infinity" (read as floats) or past timedelta's range
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            detail=f"History interval must be a finite number of seconds, at most {datetime.timedelta.max.total_seconds():.0f}.",
        ) from None


def run_history(
    runs: Iterable[Any], start: datetime.datetime, end: datetime.datetime, interval: datetime.timedelta
) -> list[HistoryResponse]:
    try:
        return flow_runs_history.run_history(runs, start, end, interval)
    except OverflowError:
        # Bucket bounds are start + n * interval: past year 9999 they are not datetimes.
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            detail="History intervals would end after the latest supported datetime (9999-12-31); use an earlier history_end or a shorter interval.",
        ) from None
