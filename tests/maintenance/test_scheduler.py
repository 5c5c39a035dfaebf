"""The scheduler function (invoked through its handler with an EventBridge event) makes the
expected auto-scheduled runs, once, with per-schedule parameters; paused deployments and
changed schedules behave as the reference."""

from __future__ import annotations

import datetime
import threading
import zoneinfo
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from tests.support.api import create_deployment

UTC = datetime.UTC
NY = zoneinfo.ZoneInfo("America/New_York")
ANCHOR = "2024-01-01T00:30:00+00:00"


def _runs(client: httpx.Client, deployment_id: str) -> list[dict[str, Any]]:
    body = {"flow_runs": {"deployment_id": {"any_": [deployment_id]}}, "limit": 200}
    return client.post("/flow_runs/filter", json=body).json()


def _at(run: dict[str, Any]) -> datetime.datetime:
    return datetime.datetime.fromisoformat(run["next_scheduled_start_time"].replace("Z", "+00:00"))


def _next_daily_9am_ny(after: datetime.datetime, n: int) -> list[datetime.datetime]:
    local = after.astimezone(NY)
    day = local.date()
    out: list[datetime.datetime] = []
    while len(out) < n:
        candidate = datetime.datetime.combine(day, datetime.time(9, 0), tzinfo=NY)
        if candidate > local:
            out.append(candidate.astimezone(UTC))
        day += datetime.timedelta(days=1)
    return out


def _next_half_hours(after: datetime.datetime, n: int) -> list[datetime.datetime]:
    first = after.replace(minute=30, second=0, microsecond=0)
    if first <= after:
        first += datetime.timedelta(hours=1)
    return [first + datetime.timedelta(hours=i) for i in range(n)]


SCHEDULES = [
    {"schedule": {"cron": "0 9 * * *", "timezone": "America/New_York"}, "parameters": {"b": 2}, "slug": "daily"},
    {"schedule": {"interval": 3600, "anchor_date": ANCHOR}, "parameters": {"a": 7}, "slug": "hourly"},
]


def test_cron_and_interval_schedules_make_the_expected_runs(client: httpx.Client, invoke: Callable[[str], Any]) -> None:
    dep = create_deployment(client, parameters={"a": 1, "b": 1}, schedules=SCHEDULES, tags=["nightly"])
    by_slug = {s["slug"]: s["id"] for s in dep["schedules"]}
    started = datetime.datetime.now(UTC)
    result = invoke("scheduler")
    # The stack's own every-minute tick may have made them first: either way, no errors.
    assert not result["errors"]

    runs = _runs(client, dep["id"])
    daily = [r for r in runs if r["created_by"]["id"] == by_slug["daily"]]
    hourly = [r for r in runs if r["created_by"]["id"] == by_slug["hourly"]]
    # The reference's defaults: at least 3 runs and at least an hour ahead.
    assert set(_next_daily_9am_ny(started, 3)) <= {_at(r) for r in daily}
    assert set(_next_half_hours(started, 3)) <= {_at(r) for r in hourly}
    for run in daily:
        assert run["parameters"] == {"a": 1, "b": 2}  # the schedule's b overrides the deployment's
        assert _at(run).astimezone(NY).time() == datetime.time(9, 0)
    for run in hourly:
        assert run["parameters"] == {"a": 7, "b": 1}
    for run in runs:
        assert run["auto_scheduled"] is True and run["state_type"] == "SCHEDULED"
        assert "auto-scheduled" in run["tags"] and "nightly" in run["tags"]
        assert run["idempotency_key"].startswith(f"scheduled {dep['id']} ")
        assert run["created_by"]["type"] == "SCHEDULE"

    # A second tick adds nothing (the schedules already have enough future runs).
    invoke("scheduler")
    assert {r["id"] for r in _runs(client, dep["id"])} == {r["id"] for r in runs}


def test_concurrent_invocations_never_duplicate_a_tick(client: httpx.Client, invoke: Callable[[str], Any]) -> None:
    dep = create_deployment(client, schedules=SCHEDULES)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            invoke("scheduler")
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    runs = _runs(client, dep["id"])
    ticks = Counter((r["created_by"]["id"], r["next_scheduled_start_time"]) for r in runs)
    assert ticks and max(ticks.values()) == 1
    assert len(runs) == len({r["id"] for r in runs})
    assert Counter(r["created_by"]["id"] for r in runs) == Counter({s["id"]: 3 for s in dep["schedules"]})


def test_paused_deployments_and_inactive_schedules_make_no_runs(
    client: httpx.Client, invoke: Callable[[str], Any]
) -> None:
    paused = create_deployment(client, paused=True, schedules=SCHEDULES[:1])
    inactive = create_deployment(client, schedules=[{**SCHEDULES[0], "active": False}])
    invoke("scheduler")
    assert _runs(client, paused["id"]) == [] and _runs(client, inactive["id"]) == []

    # Pausing a scheduled deployment removes its not-yet-started auto-scheduled runs.
    live = create_deployment(client, schedules=SCHEDULES[:1])
    invoke("scheduler")
    assert len(_runs(client, live["id"])) == 3
    manual = client.post(f"/deployments/{live['id']}/create_flow_run", json={}).json()
    assert client.post(f"/deployments/{live['id']}/pause_deployment").status_code == 200
    assert [r["id"] for r in _runs(client, live["id"])] == [manual["id"]]
    invoke("scheduler")
    assert [r["id"] for r in _runs(client, live["id"])] == [manual["id"]]
    # Resuming lets the next tick schedule again.
    client.post(f"/deployments/{live['id']}/resume_deployment")
    invoke("scheduler")
    assert len(_runs(client, live["id"])) == 4


def test_schedules_sub_resource_and_changes_replace_unstarted_runs(
    client: httpx.Client, invoke: Callable[[str], Any]
) -> None:
    dep = create_deployment(client, parameters={"a": 1})
    created = client.post(f"/deployments/{dep['id']}/schedules", json=[SCHEDULES[0]])
    assert created.status_code == 201, created.text
    schedule = created.json()[0]
    assert schedule["deployment_id"] == dep["id"] and schedule["parameters"] == {"b": 2}
    listed = client.get(f"/deployments/{dep['id']}/schedules").json()
    assert [s["id"] for s in listed] == [schedule["id"]]
    dup = client.post(f"/deployments/{dep['id']}/schedules", json=[{**SCHEDULES[1], "slug": "daily"}])
    assert dup.status_code == 409

    invoke("scheduler")
    before = _runs(client, dep["id"])
    assert len(before) == 3 and all(r["parameters"] == {"a": 1, "b": 2} for r in before)

    # Changing the schedule's parameters drops its future auto-scheduled runs ...
    patched = client.patch(f"/deployments/{dep['id']}/schedules/{schedule['id']}", json={"parameters": {"b": 5}})
    assert patched.status_code == 204
    assert _runs(client, dep["id"]) == []
    read = client.get(f"/deployments/{dep['id']}").json()["schedules"][0]
    assert read["parameters"] == {"b": 5} and read["schedule"]["cron"] == "0 9 * * *"
    # ... and the next tick plans them again from the new definition.
    invoke("scheduler")
    after = _runs(client, dep["id"])
    assert len(after) == 3 and all(r["parameters"] == {"a": 1, "b": 5} for r in after)

    # Deactivating keeps the schedule but stops it; deleting removes schedule and runs.
    client.patch(f"/deployments/{dep['id']}/schedules/{schedule['id']}", json={"active": False})
    invoke("scheduler")
    assert _runs(client, dep["id"]) == []
    assert client.get(f"/deployments/{dep['id']}/schedules").json()[0]["parameters"] == {"b": 5}
    assert client.delete(f"/deployments/{dep['id']}/schedules/{schedule['id']}").status_code == 204
    assert client.get(f"/deployments/{dep['id']}/schedules").json() == []
    missing = client.delete(f"/deployments/{dep['id']}/schedules/{schedule['id']}")
    assert missing.status_code == 404


def test_upsert_replaces_schedules_and_their_future_runs(client: httpx.Client, invoke: Callable[[str], Any]) -> None:
    dep = create_deployment(client, schedules=SCHEDULES[:1])
    invoke("scheduler")
    assert len(_runs(client, dep["id"])) == 3
    again = client.post(
        "/deployments/", json={"name": dep["name"], "flow_id": dep["flow_id"], "schedules": SCHEDULES[1:]}
    )
    assert again.status_code == 200
    assert [s["slug"] for s in again.json()["schedules"]] == ["hourly"]
    assert _runs(client, dep["id"]) == []
    invoke("scheduler")
    runs = _runs(client, dep["id"])
    assert len(runs) == 3 and {r["created_by"]["id"] for r in runs} == {again.json()["schedules"][0]["id"]}
