"""Builders for the events the prefect 3.9.1 engine emits, and a running flow run to relate them to."""

from __future__ import annotations

import datetime
import time
import uuid
from typing import Any

import httpx


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def running_flow_run(client: httpx.Client) -> dict[str, Any]:
    flow = client.post("/flows/", json={"name": f"tr-flow-{uuid.uuid4().hex[:8]}"}).json()
    run = client.post("/flow_runs/", json={"flow_id": flow["id"]}).json()
    response = client.post(f"/flow_runs/{run['id']}/set_state", json={"state": {"type": "RUNNING"}, "force": True})
    assert response.json()["status"] == "ACCEPT", response.text
    return client.get(f"/flow_runs/{run['id']}").json()


def task_run_event(
    task_run_id: str,
    flow_run_id: str | None,
    state_type: str,
    occurred: datetime.datetime,
    *,
    task_key: str = "my_task-1a2b3c",
    dynamic_key: str = "0",
    run_count: int = 1,
    orchestration: str = "client",
    event_id: str | None = None,
    name: str = "my_task-0",
) -> dict[str, Any]:
    """A `prefect.task-run.<State>` event shaped like utilities/engine emit_task_run_state_change_event."""
    state_name = state_type.capitalize()
    related = (
        [
            {
                "prefect.resource.id": f"prefect.flow-run.{flow_run_id}",
                "prefect.resource.role": "flow-run",
                "prefect.resource.name": "some-flow-run",
            }
        ]
        if flow_run_id
        else []
    )
    return {
        "id": event_id or str(uuid.uuid4()),
        "occurred": occurred.isoformat(),
        "event": f"prefect.task-run.{state_name}",
        "resource": {
            "prefect.resource.id": f"prefect.task-run.{task_run_id}",
            "prefect.resource.name": name,
            "prefect.run-count": str(run_count),
            "prefect.state-message": "",
            "prefect.state-name": state_name,
            "prefect.state-timestamp": occurred.isoformat(),
            "prefect.state-type": state_type,
            "prefect.orchestration": orchestration,
        },
        "related": related,
        "payload": {
            "intended": {"from": None, "to": state_type},
            "initial_state": None,
            "validated_state": {
                "type": state_type,
                "name": state_name,
                "message": "",
                "state_details": {},
                "data": None,
            },
            "task_run": {
                "name": name,
                "task_key": task_key,
                "dynamic_key": dynamic_key,
                "empirical_policy": {"max_retries": 0, "retry_delay_seconds": 0.0, "retries": 0, "retry_delay": 0},
                "tags": ["t1"],
                "labels": {},
                "task_inputs": {},
                "run_count": run_count,
                "flow_run_run_count": 1,
                "expected_start_time": occurred.isoformat(),
                "total_run_time": 0.0,
            },
        },
    }


def lifecycle(task_run_id: str, flow_run_id: str | None, start: datetime.datetime, **kw: Any) -> list[dict[str, Any]]:
    """Pending, Running, Completed one second apart."""
    return [
        task_run_event(task_run_id, flow_run_id, "PENDING", start, run_count=0, **kw),
        task_run_event(task_run_id, flow_run_id, "RUNNING", start + datetime.timedelta(seconds=1), **kw),
        task_run_event(task_run_id, flow_run_id, "COMPLETED", start + datetime.timedelta(seconds=2), **kw),
    ]


def uuid7_at(moment: datetime.datetime) -> str:
    """A UUIDv7 made at `moment`, as prefect 3.9.1's client makes task-run and state (= event) ids."""
    millis = int(moment.timestamp() * 1000)
    random_bits = uuid.uuid4().int & ((1 << 74) - 1)
    value = millis << 80 | 0x7 << 76 | (random_bits >> 62) << 64 | 0b10 << 62 | random_bits & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def with_client_ids(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events with UUIDv7 ids made at their `occurred`, as prefect 3.9.1's client makes state (= event) ids."""
    for event in events:
        event["id"] = uuid7_at(datetime.datetime.fromisoformat(event["occurred"]))
    return events


def stored(client: httpx.Client, event_ids: list[str], timeout: float = 30.0) -> None:
    """Wait until every one of `event_ids` is stored (read back by id).

    A websocket's pong is no storage barrier: the socket answers pings while its queued frames are still
    being written (the reference's socket too), so after a client's last checkpoint the last frames may
    land after an HTTP request sent next. Wait for them before `recorded`, which only covers events
    stored before it.
    """
    wanted = sorted(set(event_ids))
    by_id = {"filter": {"id": {"id": wanted}}, "limit": 50}
    deadline = time.monotonic() + timeout
    while client.post("/events/filter", json=by_id).json()["total"] < len(wanted):
        assert time.monotonic() < deadline, f"the socket's events were not stored within {timeout}s"
        time.sleep(0.02)


def recorded(client: httpx.Client, timeout: float = 30.0) -> None:
    """Wait until the task-run recorder has recorded every event stored before this call.

    The recorder takes events from the table's stream after POST /events acknowledged them. The local
    stack runs it on one ordered stream, and a batch writes its runs, then their history in order, so once
    the state history of a fresh sentinel event (a background task run, in no flow run) is recorded,
    everything stored before it is too: an exact barrier, bounded by `timeout`.
    """
    sentinel = str(uuid.uuid4())
    event = task_run_event(sentinel, None, "PENDING", utc_now(), name="recorder-barrier", task_key="recorder-barrier")
    response = client.post("/events", json=[event])
    assert response.status_code == 204, response.text
    deadline = time.monotonic() + timeout
    while not client.get("/task_run_states/", params={"task_run_id": sentinel}).json():
        assert time.monotonic() < deadline, f"the task-run recorder did not catch up within {timeout}s"
        time.sleep(0.02)


def fed(client: httpx.Client, timeout: float = 30.0) -> None:
    """Wait until the events' time feed holds every event stored before this call.

    The stream-fed feed function pages new events in batches (a ~1 s batching window): a time-window read
    (no name, or a `prefect.flow-run.*` / `prefect.task-run.*` name) finds an event once that is done. The
    local stack runs it on one ordered stream, so once a fresh sentinel event is found by time, everything
    stored before it is too: an exact barrier, bounded by `timeout`.
    """
    sentinel = f"feed-barrier.{uuid.uuid4()}"
    event = {
        "id": str(uuid.uuid4()),
        "occurred": utc_now().isoformat(),
        "event": "sf.feed-barrier",
        "resource": {"prefect.resource.id": sentinel},
    }
    response = client.post("/events", json=[event])
    assert response.status_code == 204, response.text
    by_time = {"filter": {"resource": {"id_prefix": [sentinel]}}, "limit": 1}
    deadline = time.monotonic() + timeout
    while not client.post("/events/filter", json=by_time).json()["events"]:
        assert time.monotonic() < deadline, f"the events' time feed did not catch up within {timeout}s"
        time.sleep(0.05)
