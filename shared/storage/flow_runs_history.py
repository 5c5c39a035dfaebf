"""Run history aggregates (POST /flow_runs/history): pure bucketing over filtered runs.

Works on any run with expected_start_time, estimated_run_time, estimated_start_time_delta,
state_type and state_name, so task runs can reuse it.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from shared.schemas.responses import HistoryResponse, HistoryResponseState

# The reference caps the number of intervals it returns.
MAX_INTERVALS = 500


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def run_history(
    runs: Iterable[Any], start: datetime.datetime, end: datetime.datetime, interval: datetime.timedelta
) -> list[HistoryResponse]:
    start, end = _utc(start), _utc(end)
    elapsed = end - start
    count = min(-((-elapsed) // interval), MAX_INTERVALS) if elapsed > datetime.timedelta(0) else 0
    if count == 0:
        return []
    query_end = start + count * interval
    buckets: dict[int, dict[tuple[str | None, str], list[Any]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        expected = run.expected_start_time
        if expected is None or not (start <= _utc(expected) < query_end):
            continue
        index = int((_utc(expected) - start) // interval)
        buckets[index][(run.state_type.value if run.state_type else None, run.state_name)].append(run)
    zero = datetime.timedelta(0)
    history = []
    for i in range(count):
        states = [
            HistoryResponseState(
                state_type=state_type,
                state_name=state_name,
                count_runs=len(members),
                # Only positive run times and lateness count, as in the reference.
                sum_estimated_run_time=sum((max(r.estimated_run_time, zero) for r in members), zero),
                sum_estimated_lateness=sum((max(r.estimated_start_time_delta, zero) for r in members), zero),
            )
            for (state_type, state_name), members in sorted(
                buckets[i].items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))
            )
            if state_type is not None
        ]
        history.append(
            HistoryResponse(interval_start=start + i * interval, interval_end=start + (i + 1) * interval, states=states)
        )
    return history
