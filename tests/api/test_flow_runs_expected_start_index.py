"""Flow runs sorted by expected start time come from the expected-start index, paged exactly."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import httpx

# Out of order, with ties (equal expected starts) to exercise the id tiebreak.
MINUTES = (5, 1, 3, 3, 9, 7, 3, 0)


def _runs_at(client: httpx.Client, base: datetime.datetime) -> list[dict[str, Any]]:
    flow = client.post("/flows/", json={"name": f"esi-{uuid.uuid4().hex[:8]}"}).json()
    runs = []
    for minutes in MINUTES:
        when = (base + datetime.timedelta(minutes=minutes)).isoformat()
        state = {"type": "SCHEDULED", "name": "Scheduled", "state_details": {"scheduled_time": when}}
        runs.append(client.post("/flow_runs/", json={"flow_id": flow["id"], "state": state}).json())
    return runs


def _pages(client: httpx.Client, sort: str, sizes: tuple[int, ...]) -> list[str]:
    ids: list[str] = []
    offset = 0
    for size in sizes:
        # No narrowing filter: the all-runs expected-start index (GSI7) serves it.
        response = client.post("/flow_runs/filter", json={"sort": sort, "offset": offset, "limit": size})
        assert response.status_code == 200, response.text
        ids += [run["id"] for run in response.json()]
        offset += size
    return ids


def _reference_order(runs: list[dict[str, Any]], descending: bool) -> list[str]:
    # ORDER BY expected_start_time <dir>, id DESC (the sort module's documented tiebreak).
    by_id = sorted(runs, key=lambda r: r["id"], reverse=True)
    return [r["id"] for r in sorted(by_id, key=lambda r: r["expected_start_time"], reverse=descending)]


def test_latest_expected_starts_page_in_descending_order(client: httpx.Client) -> None:
    # The latest in the store: other tests keep runs up to a few centuries ahead (the window tests' 2400-2600).
    runs = _runs_at(client, datetime.datetime(9000, 1, 1, tzinfo=datetime.UTC))
    assert _pages(client, "EXPECTED_START_TIME_DESC", (3, 3, 2)) == _reference_order(runs, descending=True)


def test_earliest_expected_starts_page_in_ascending_order(client: httpx.Client) -> None:
    # The earliest in the store: no test keeps a run before 1971.
    runs = _runs_at(client, datetime.datetime(1971, 1, 1, tzinfo=datetime.UTC))
    assert _pages(client, "EXPECTED_START_TIME_ASC", (2, 4, 2)) == _reference_order(runs, descending=False)
