"""Events over HTTP and the /events/in websocket (websockets client and the real prefect client)."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import subprocess
import sys
import textwrap
import uuid
from typing import Any

import boto3
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from shared.schemas.events import ReceivedEvent
from shared.storage import events as event_store
from shared.storage.keys import key, sharded, sortable_time
from tests.support.events import fed, lifecycle, recorded, running_flow_run, stored, utc_now


def _ws_url(api_url: str) -> str:
    return api_url.replace("http://", "ws://", 1) + "/events/in"


def _plain_event(name: str, resource_id: str, occurred: datetime.datetime, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "occurred": occurred.isoformat(),
        "event": name,
        "resource": {"prefect.resource.id": resource_id, **extra},
        "payload": {"n": 1},
    }


# --- HTTP ------------------------------------------------------------------------------


def test_post_events_filter_next_page_and_count(client: httpx.Client) -> None:
    marker = f"sf.test.{uuid.uuid4().hex[:8]}"
    start = utc_now() - datetime.timedelta(minutes=5)
    events = [
        _plain_event(
            f"{marker}.{'a' if i % 2 else 'b'}",
            f"thing.{i % 3}",
            start + datetime.timedelta(seconds=i),
            **{"prefect.resource.name": f"Thing {i % 3}"},
        )
        for i in range(7)
    ]
    assert client.post("/events", json=events).status_code == 204
    assert client.post("/events", json=events[:2]).status_code == 204  # duplicates are dropped

    body = {"filter": {"event": {"prefix": [marker]}, "order": "ASC"}, "limit": 3}
    page = client.post("/events/filter", json=body).json()
    assert page["total"] == 7 and [e["id"] for e in page["events"]] == [e["id"] for e in events[:3]]
    assert page["events"][0]["received"] and page["events"][0]["payload"] == {"n": 1}
    assert page["next_page"].startswith(str(client.base_url).rstrip("/") + "/events/filter/next?page-token=")
    seen = [e["id"] for e in page["events"]]
    while page["next_page"]:
        page = client.get(page["next_page"]).json()
        assert page["total"] == 7
        seen += [e["id"] for e in page["events"]]
    assert seen == [e["id"] for e in events]

    desc = client.post("/events/filter", json={"filter": {"event": {"name": [f"{marker}.a"]}}}).json()
    assert [e["event"] for e in desc["events"]] == [f"{marker}.a"] * 3
    assert desc["events"][0]["occurred"] > desc["events"][-1]["occurred"]  # DESC by default
    by_resource = client.post(
        "/events/filter", json={"filter": {"resource": {"id": ["thing.1"]}, "event": {"prefix": [marker]}}}
    ).json()
    assert by_resource["total"] == 2 and by_resource["next_page"] is None

    counted = client.post("/events/count-by/event", json={"filter": {"event": {"prefix": [marker]}}}).json()
    assert [(c["value"], c["count"]) for c in counted] == [(f"{marker}.b", 4), (f"{marker}.a", 3)]
    by_res = client.post("/events/count-by/resource", json={"filter": {"event": {"prefix": [marker]}}}).json()
    assert {(c["value"], c["label"], c["count"]) for c in by_res} == {
        ("thing.0", "Thing 0", 3),
        ("thing.1", "Thing 1", 2),
        ("thing.2", "Thing 2", 2),
    }
    window = {"since": (start - datetime.timedelta(minutes=1)).isoformat(), "until": utc_now().isoformat()}
    by_minute = client.post(
        "/events/count-by/time",
        json={"filter": {"event": {"prefix": [marker]}, "occurred": window}, "time_unit": "minute", "time_interval": 1},
    ).json()
    assert sum(c["count"] for c in by_minute) == 7 and len(by_minute) >= 6
    assert all(c["start_time"] < c["end_time"] for c in by_minute)


def test_bad_event_input_is_a_prefect_shaped_4xx(client: httpx.Client) -> None:
    missing_id = client.post(
        "/events", json=[{"event": "x", "occurred": utc_now().isoformat(), "resource": {"a": "b"}}]
    )
    assert missing_id.status_code == 422 and missing_id.json()["exception_message"] == "Invalid request received."
    assert client.post("/events", json={"not": "a list"}).status_code == 422
    assert client.post("/events", content=b"[{", headers={"content-type": "application/json"}).status_code == 422
    assert client.post("/events/filter", json={"limit": 51}).status_code == 422
    assert client.post("/events/filter", json={"filter": {"nope": 1}}).status_code == 422
    assert client.post("/events/count-by/planets", json={"filter": {}}).status_code == 422
    too_many = client.post("/events/count-by/time", json={"filter": {}, "time_unit": "second"})
    assert too_many.status_code == 422 and "buckets" in too_many.json()["detail"]
    assert client.get("/events/filter/next", params={"page-token": "%%%"}).status_code == 403
    assert client.get("/events/filter/next", params={"page-token": "bm90IGpzb24="}).status_code == 403
    assert client.get("/events/filter/next").status_code == 422


# --- websocket -------------------------------------------------------------------------


async def _handshake(api_url: str, token: str | None = None) -> Any:
    ws = await connect(_ws_url(api_url), subprotocols=["prefect"])
    assert ws.subprotocol == "prefect"
    await (await ws.ping())
    await ws.send(json.dumps({"type": "auth", "token": token}))
    assert json.loads(await ws.recv()) == {"type": "auth_success"}
    return ws


def test_websocket_handshake_events_and_checkpoint_pings(client: httpx.Client, api_url: str) -> None:
    flow_run = running_flow_run(client)
    task_run_id = str(uuid.uuid4())
    events = lifecycle(task_run_id, flow_run["id"], utc_now() - datetime.timedelta(seconds=20))

    async def scenario() -> None:
        ws = await _handshake(api_url)
        try:
            for event in (events[1], events[0], events[2], events[2]):
                await ws.send(json.dumps(event))
            await ws.send("this is not an event")  # skipped, the socket stays open
            await ws.send(json.dumps({"id": "nope"}))
            # The client's checkpoint: a pong after the frames means they were received.
            await asyncio.wait_for(await ws.ping(), timeout=10)
        finally:
            await ws.close()

    asyncio.run(scenario())
    # Stored as the frames are taken off the socket; the recorder builds the task run from the table's stream.
    stored(client, [event["id"] for event in events])
    recorded(client)
    run = client.get(f"/task_runs/{task_run_id}").json()
    assert run["state_type"] == "COMPLETED" and run["flow_run_id"] == flow_run["id"]
    states = client.get("/task_run_states/", params={"task_run_id": task_run_id}).json()
    assert [s["type"] for s in states] == ["PENDING", "RUNNING", "COMPLETED"]


def test_websocket_rejects_a_first_message_that_is_not_auth(api_url: str) -> None:
    async def scenario() -> tuple[Any, int | None]:
        async with connect(_ws_url(api_url), subprotocols=["prefect"]) as ws:
            await ws.send(json.dumps({"type": "hello"}))
            reply = json.loads(await ws.recv())
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            return reply, ws.close_code

    reply, code = asyncio.run(scenario())
    assert reply == {"type": "auth_failure", "reason": "Expected 'auth' message"}
    assert code == 1008


def test_websocket_without_subprotocol_is_accepted_in_legacy_mode(client: httpx.Client, api_url: str) -> None:
    task_run_id = str(uuid.uuid4())
    flow_run = running_flow_run(client)

    events = lifecycle(task_run_id, flow_run["id"], utc_now() - datetime.timedelta(seconds=5))

    async def scenario() -> None:
        async with connect(_ws_url(api_url)) as ws:
            assert ws.subprotocol is None
            for event in events:
                await ws.send(json.dumps(event))
            await asyncio.wait_for(await ws.ping(), timeout=10)

    asyncio.run(scenario())
    stored(client, [event["id"] for event in events])
    recorded(client)
    run = client.get(f"/task_runs/{task_run_id}").json()
    assert run["state_type"] == "COMPLETED"


PREFECT_CLIENT_SCRIPT = textwrap.dedent(
    """
    import asyncio, datetime, sys, uuid
    from prefect.events import Event
    from prefect.events.clients import PrefectEventsClient

    api_url, flow_run_id, task_run_id = sys.argv[1:4]

    async def main():
        start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=10)
        # checkpoint_every=1: the client pings (and awaits the pong) after every event.
        async with PrefectEventsClient(api_url=api_url, checkpoint_every=1) as client:
            previous = None
            for i, (state_type, name) in enumerate([("PENDING", "Pending"), ("RUNNING", "Running"), ("COMPLETED", "Completed")]):
                occurred = start + datetime.timedelta(seconds=i)
                event = Event(
                    occurred=occurred,
                    event=f"prefect.task-run.{name}",
                    resource={
                        "prefect.resource.id": f"prefect.task-run.{task_run_id}",
                        "prefect.resource.name": "via-prefect-client",
                        "prefect.state-type": state_type,
                        "prefect.orchestration": "client",
                    },
                    related=[{"prefect.resource.id": f"prefect.flow-run.{flow_run_id}", "prefect.resource.role": "flow-run"}],
                    payload={
                        "intended": {"from": None, "to": state_type},
                        "initial_state": None,
                        "validated_state": {"type": state_type, "name": name, "message": "", "state_details": {}, "data": None},
                        "task_run": {"name": "via-prefect-client", "task_key": "pc-task", "dynamic_key": "0",
                                     "run_count": 0 if i == 0 else 1, "tags": [], "labels": {}, "task_inputs": {},
                                     "empirical_policy": {}},
                    },
                    follows=previous,
                )
                await client.emit(event)
                previous = event.id
                print("EVENT", event.id)
            assert client._unconfirmed_events == [], "checkpoint pings were not answered"
        print("EMITTED")

    asyncio.run(main())
    """
)


def test_real_prefect_events_client(client: httpx.Client, api_url: str, tmp_path: Any) -> None:
    flow_run = running_flow_run(client)
    task_run_id = str(uuid.uuid4())
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "false",
        "PREFECT_CLIENT_SERVER_VERSION_CHECK_ENABLED": "false",
    }
    result = subprocess.run(
        [sys.executable, "-c", PREFECT_CLIENT_SCRIPT, api_url, flow_run["id"], task_run_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "EMITTED" in result.stdout, result.stdout + result.stderr
    stored(client, [line.split()[1] for line in result.stdout.splitlines() if line.startswith("EVENT ")])
    recorded(client)
    run = client.get(f"/task_runs/{task_run_id}").json()
    assert run["state_type"] == "COMPLETED" and run["name"] == "via-prefect-client"
    assert run["flow_run_id"] == flow_run["id"]


def _legacy_event_item(event: dict[str, Any]) -> dict[str, Any]:
    """An event item as stored before the time feed: no feed page, on the GSI2 time index."""
    received = ReceivedEvent.model_validate({**event, "received": event["occurred"]})
    occurred = sortable_time(received.occurred)
    return {
        "PK": f"EVENT#{received.id}",
        "SK": "#META",
        "entity": "event",
        "body": received.model_dump_json(),  # plain text: also how bodies were stored before compaction
        "expires_at": int(received.received.timestamp()) + 7 * 86400,
        "GSI2PK": sharded(key("EVENTS", occurred[:10]), received.id, event_store.TIME_SHARDS),
        "GSI2SK": f"{occurred}#{received.id}",
    }


def _all_pages(client: httpx.Client, event_filter: dict[str, Any], total: int) -> list[str]:
    """The ids of every page of a filter, 4 events a page (/events/filter, then /events/filter/next)."""
    page = client.post("/events/filter", json={"filter": event_filter, "limit": 4}).json()
    seen = [e["id"] for e in page["events"]]
    while page["next_page"]:
        page = client.get(page["next_page"]).json()
        assert page["total"] == total
        seen += [e["id"] for e in page["events"]]
    return seen


def test_time_windows_read_the_feed_in_both_orders_across_pages_and_legacy_days(
    client: httpx.Client, aws_endpoint_url: str
) -> None:
    marker = uuid.uuid4().hex[:8]
    name_a, name_b = f"prefect.flow-run.Feed{marker}A", f"prefect.flow-run.Feed{marker}B"
    now = utc_now()
    # Over several minutes (several feed pages), names left out of the name index: read by time only.
    recent = [
        _plain_event(
            name_a if i % 2 else name_b, f"feed.{marker}.{i % 3}", now - datetime.timedelta(seconds=600 - 70 * i)
        )
        for i in range(7)
    ]
    # A day that had events before the feed: its marker and an event from then, then a new event that day.
    old_day = now - datetime.timedelta(days=3)
    legacy = _plain_event(name_a, f"feed.{marker}.legacy", old_day)
    table = boto3.resource(
        "dynamodb",
        endpoint_url=aws_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).Table("serverflow")
    day_marker = {"PK": f"EVENT_DAY#{old_day.date().isoformat()}", "SK": "#META"}
    table.put_item(Item={**day_marker, "entity": "event_day", "expires_at": int(now.timestamp()) + 86400})
    # Stored before the feed function existed: its INSERT never reached the feed (inserted as another entity
    # here, so the stack's feed function skips it, then made an event by a MODIFY, which the feed ignores).
    table.put_item(Item={**_legacy_event_item(legacy), "entity": "not-yet-an-event"})
    table.update_item(
        Key={"PK": f"EVENT#{legacy['id']}", "SK": "#META"},
        UpdateExpression="SET entity = :e",
        ExpressionAttributeValues={":e": "event"},
    )
    same_day = _plain_event(name_b, f"feed.{marker}.0", old_day + datetime.timedelta(seconds=1))
    everything = [legacy, same_day, *recent]
    assert client.post("/events", json=[same_day, *recent]).status_code == 204
    assert client.post("/events", json=recent[:3]).status_code == 204  # resent: stored and paged once
    fed(client)
    # The old day stays on GSI2 (the new event's marking must not hide it).
    assert table.get_item(Key=day_marker)["Item"].get("version") != event_store.FEED_ONLY

    since_old_day = {"since": (old_day - datetime.timedelta(minutes=1)).isoformat(), "until": utc_now().isoformat()}
    since_recent = {"since": (now - datetime.timedelta(minutes=15)).isoformat(), "until": utc_now().isoformat()}
    of_marker = {"resource": {"id_prefix": [f"feed.{marker}."]}, "occurred": since_old_day}
    # By name only, on days on the feed only: the feed's entries decide it (only the pages' events are read).
    by_name = {"event": {"prefix": [f"prefect.flow-run.Feed{marker}"]}, "occurred": since_recent}
    for event_filter, events in ((of_marker, everything), (by_name, recent)):
        by_time = [e["id"] for e in sorted(events, key=lambda e: e["occurred"])]
        assert _all_pages(client, {**event_filter, "order": "ASC"}, len(events)) == by_time
        assert _all_pages(client, {**event_filter, "order": "DESC"}, len(events)) == by_time[::-1]
        by_minute = client.post(
            "/events/count-by/time", json={"filter": event_filter, "time_unit": "minute", "time_interval": 5}
        ).json()
        assert sum(c["count"] for c in by_minute) == len(events)

    named = {**of_marker, "event": {"name": [name_a]}, "order": "ASC"}
    found = client.post("/events/filter", json={"filter": named}).json()
    ordered = sorted(everything, key=lambda e: e["occurred"])
    assert [e["id"] for e in found["events"]] == [e["id"] for e in ordered if e["event"] == name_a]
    counted = client.post("/events/count-by/event", json={"filter": of_marker}).json()
    assert sorted((c["value"], c["count"]) for c in counted) == [(name_a, 4), (name_b, 5)]
