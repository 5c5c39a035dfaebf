"""The task-run recorder over HTTP (POST /events, recorded from the table's stream): newest state wins in any
order, replays are no-ops, a replay repairs a recorder stopped between its writes, concurrent recorders lose
no update."""

from __future__ import annotations

import datetime
import itertools
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.aws_env import AWS_ENV, emulator_client
from tests.support.events import (
    fed,
    lifecycle,
    recorded,
    task_run_event,
    utc_now,
    with_client_ids,
)


def _received(events: list[dict[str, Any]]) -> list[Any]:
    from shared.schemas.events import ReceivedEvent

    return [ReceivedEvent.model_validate(event) for event in events]


def _post(client: httpx.Client, events: list[dict[str, Any]]) -> None:
    response = client.post("/events", json=events)
    assert response.status_code == 204, response.text
    recorded(client)  # the recorder takes the events from the table's stream


def _states(client: httpx.Client, task_run_id: str) -> list[str]:
    return [s["type"] for s in client.get("/task_run_states/", params={"task_run_id": task_run_id}).json()]


def test_in_order_events_build_the_task_run(client: httpx.Client, flow_run: dict[str, Any]) -> None:
    task_run_id = str(uuid.uuid4())
    events = lifecycle(task_run_id, flow_run["id"], utc_now() - datetime.timedelta(seconds=30))
    _post(client, events)
    run = client.get(f"/task_runs/{task_run_id}").json()
    assert run["flow_run_id"] == flow_run["id"]
    assert (run["state_type"], run["state_name"], run["task_key"], run["run_count"]) == (
        "COMPLETED",
        "Completed",
        "my_task-1a2b3c",
        1,
    )
    assert run["state"]["id"] == events[-1]["id"] and run["state_id"] == events[-1]["id"]
    assert run["state"]["state_details"]["task_run_id"] == task_run_id
    assert run["state"]["state_details"]["flow_run_id"] == flow_run["id"]
    assert run["tags"] == ["t1"]
    assert _states(client, task_run_id) == ["PENDING", "RUNNING", "COMPLETED"]
    # The state history items are the events' ids.
    assert client.get(f"/task_run_states/{events[1]['id']}").json()["type"] == "RUNNING"


@pytest.mark.parametrize("order", list(itertools.permutations(range(3)))[1:])
def test_out_of_order_events_end_in_the_newest_state(
    client: httpx.Client, flow_run: dict[str, Any], order: tuple[int, ...]
) -> None:
    task_run_id = str(uuid.uuid4())
    events = lifecycle(task_run_id, flow_run["id"], utc_now() - datetime.timedelta(seconds=30))
    for index in order:  # one request per event, so each is its own conditional write
        _post(client, [events[index]])
    run = client.get(f"/task_runs/{task_run_id}").json()
    assert run["state_type"] == "COMPLETED" and run["state_id"] == events[2]["id"]
    assert _states(client, task_run_id) == ["PENDING", "RUNNING", "COMPLETED"]


def test_duplicate_events_are_recorded_once(client: httpx.Client, flow_run: dict[str, Any]) -> None:
    task_run_id = str(uuid.uuid4())
    events = lifecycle(task_run_id, flow_run["id"], utc_now() - datetime.timedelta(seconds=30))
    _post(client, events)
    _post(client, [*events, events[1], events[0]])  # a reconnecting client resends
    assert client.get(f"/task_runs/{task_run_id}").json()["state_type"] == "COMPLETED"
    assert _states(client, task_run_id) == ["PENDING", "RUNNING", "COMPLETED"]
    found = client.post(
        "/events/filter", json={"filter": {"resource": {"id": [f"prefect.task-run.{task_run_id}"]}}}
    ).json()
    assert found["total"] == 3


def test_natural_key_conflict_adopts_the_existing_id(client: httpx.Client, flow_run: dict[str, Any]) -> None:
    # A subflow parent task created over REST, then events for the same natural key
    # under another id: the reference rewrites them onto the existing row.
    created = client.post(
        "/task_runs/", json={"flow_run_id": flow_run["id"], "task_key": "nk", "dynamic_key": "7"}
    ).json()
    other_id = str(uuid.uuid4())
    start = utc_now() + datetime.timedelta(seconds=1)  # newer than the REST-created state
    _post(client, lifecycle(other_id, flow_run["id"], start, task_key="nk", dynamic_key="7"))
    assert client.get(f"/task_runs/{other_id}").status_code == 404
    run = client.get(f"/task_runs/{created['id']}").json()
    assert run["state_type"] == "COMPLETED"
    assert _states(client, created["id"]) == ["PENDING", "PENDING", "RUNNING", "COMPLETED"]
    # Their states are the adopted run's history, yet the events stay found by their own resource id.
    until = (start + datetime.timedelta(minutes=1)).isoformat()  # they occur after "now", the default until
    assert _by_resource(client, other_id, until=until)["total"] == 3


def test_only_client_orchestrated_task_run_events_are_recorded(client: httpx.Client, flow_run: dict[str, Any]) -> None:
    server_side = str(uuid.uuid4())
    _post(client, [task_run_event(server_side, flow_run["id"], "RUNNING", utc_now(), orchestration="server")])
    assert client.get(f"/task_runs/{server_side}").status_code == 404
    # A task-run event without a flow run (background task) is keyed by its id.
    background = str(uuid.uuid4())
    _post(client, lifecycle(background, None, utc_now() - datetime.timedelta(seconds=10)))
    run = client.get(f"/task_runs/{background}").json()
    assert run["flow_run_id"] is None and run["state_type"] == "COMPLETED"


def test_recorded_task_runs_are_filterable_by_flow_run(client: httpx.Client, flow_run: dict[str, Any]) -> None:
    start = utc_now() - datetime.timedelta(seconds=30)
    ids = [str(uuid.uuid4()) for _ in range(3)]
    batch = [e for i, tid in enumerate(ids) for e in lifecycle(tid, flow_run["id"], start, dynamic_key=str(i))]
    _post(client, batch)
    found = client.post("/task_runs/filter", json={"flow_runs": {"id": {"any_": [flow_run["id"]]}}}).json()
    assert sorted(r["id"] for r in found) == sorted(ids)
    assert all(r["state_type"] == "COMPLETED" for r in found)


def test_a_batch_of_many_task_runs_is_recorded_together(client: httpx.Client, flow_run: dict[str, Any]) -> None:
    # One request carrying more runs than one grouped write (50), mixed with the cases the batch hands to the
    # one-run path: a natural key already claimed by another id, a run already holding a newer state, a run
    # already known (its Running state recorded earlier), and the same run's events twice in the batch.
    start = utc_now() - datetime.timedelta(seconds=60)
    fresh = [str(uuid.uuid4()) for _ in range(60)]
    claimed = client.post(
        "/task_runs/", json={"flow_run_id": flow_run["id"], "task_key": "nk", "dynamic_key": "b"}
    ).json()
    newer, known = str(uuid.uuid4()), str(uuid.uuid4())
    newer_events = lifecycle(newer, flow_run["id"], start, dynamic_key="newer")
    known_events = lifecycle(known, flow_run["id"], start, dynamic_key="known")
    _post(client, [newer_events[2], known_events[0]])

    batch = [e for i, tid in enumerate(fresh) for e in lifecycle(tid, flow_run["id"], start, dynamic_key=f"f{i}")]
    batch += lifecycle(
        str(uuid.uuid4()), flow_run["id"], utc_now() + datetime.timedelta(seconds=1), task_key="nk", dynamic_key="b"
    )
    batch += newer_events[:2] + known_events[1:] + known_events[1:]
    _post(client, batch)

    runs = {
        r["id"]: r
        for r in client.post("/task_runs/filter", json={"flow_runs": {"id": {"any_": [flow_run["id"]]}}}).json()
    }
    assert set(runs) == {*fresh, claimed["id"], newer, known}
    assert all(run["state_type"] == "COMPLETED" for run in runs.values()), {
        r["id"]: r["state_type"] for r in runs.values()
    }
    assert runs[newer]["state_id"] == newer_events[2]["id"]
    assert _states(client, fresh[-1]) == ["PENDING", "RUNNING", "COMPLETED"]
    assert _states(client, newer) == ["PENDING", "RUNNING", "COMPLETED"]
    assert _states(client, known) == ["PENDING", "RUNNING", "COMPLETED"]
    assert _states(client, claimed["id"]) == ["PENDING", "PENDING", "RUNNING", "COMPLETED"]


class _Stopped(Exception):
    """The recorder's process dying at its run write."""


def test_a_replay_repairs_a_recorder_stopped_between_the_guard_and_the_run(
    client: httpx.Client, flow_run: dict[str, Any], aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.events.task_run_recorder import record
    from shared.storage import store

    task_run_id = str(uuid.uuid4())
    events = lifecycle(task_run_id, flow_run["id"], utc_now() - datetime.timedelta(seconds=30), dynamic_key="stop")

    def stop(*_: Any, **__: Any) -> None:
        raise _Stopped

    with monkeypatch.context() as patched:
        patched.setattr(store, "put", stop)  # the natural-key guard is a put_new: it is written, the run is not
        with pytest.raises(_Stopped):
            record(_received(events))
    assert client.get(f"/task_runs/{task_run_id}").status_code == 404
    # The stream re-delivers the batch: the stored guard names this id, the run is written.
    _post(client, events)
    run = client.get(f"/task_runs/{task_run_id}").json()
    assert (run["state_type"], run["state_id"]) == ("COMPLETED", events[-1]["id"])
    assert _states(client, task_run_id) == ["PENDING", "RUNNING", "COMPLETED"]


def _record_after(barrier: threading.Barrier, event: dict[str, Any]) -> None:
    from shared.events.task_run_recorder import record

    barrier.wait(timeout=30)
    record(_received([event]))


def test_concurrent_recorders_of_one_new_task_run_lose_no_update(
    client: httpx.Client, flow_run: dict[str, Any], aws: None
) -> None:
    # Each round: three recorders at once, each with one state of a run none has seen; the last state under
    # another id of the same natural key. One run per key, holding the newest state with the whole history.
    start = utc_now() - datetime.timedelta(seconds=60)
    for round_ in range(4):
        first, second = str(uuid.uuid4()), str(uuid.uuid4())
        events = lifecycle(first, flow_run["id"], start, dynamic_key=f"race{round_}")
        events[2] = lifecycle(second, flow_run["id"], start, dynamic_key=f"race{round_}")[2]
        barrier = threading.Barrier(len(events))
        with ThreadPoolExecutor(max_workers=len(events)) as pool:
            recorders = [pool.submit(_record_after, barrier, event) for event in events]
            for recorder in recorders:
                recorder.result(timeout=60)
        runs = [
            run
            for run in client.post("/task_runs/filter", json={"flow_runs": {"id": {"any_": [flow_run["id"]]}}}).json()
            if run["dynamic_key"] == f"race{round_}"
        ]
        assert len(runs) == 1 and runs[0]["id"] in (first, second), runs
        assert (runs[0]["state_type"], runs[0]["state_id"]) == ("COMPLETED", events[2]["id"])
        assert _states(client, runs[0]["id"]) == ["PENDING", "RUNNING", "COMPLETED"]


def _by_resource(client: httpx.Client, task_run_id: str, **occurred: str) -> dict[str, Any]:
    body = {"resource": {"id": [f"prefect.task-run.{task_run_id}"]}, "occurred": occurred}
    response = client.post("/events/filter", json={"filter": body})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_recorded_events_are_found_by_resource_without_their_own_index_copy(
    client: httpx.Client, aws_endpoint_url: str, flow_run: dict[str, Any]
) -> None:
    """Client task-run events skip the by-resource index: their run's state history finds them."""
    task_run_id, malformed_id = str(uuid.uuid4()), str(uuid.uuid4())
    start = utc_now() - datetime.timedelta(seconds=30)
    events = lifecycle(task_run_id, flow_run["id"], start)
    server_side = task_run_event(
        task_run_id, flow_run["id"], "CANCELLED", start + datetime.timedelta(seconds=3), orchestration="server"
    )
    malformed = task_run_event(malformed_id, flow_run["id"], "RUNNING", start)
    del malformed["payload"]["validated_state"]  # the recorder drops it: no history holds it
    _post(client, [*events, server_side, malformed])

    dynamodb = emulator_client("dynamodb", aws_endpoint_url)

    def stored(event: dict[str, Any]) -> dict[str, Any]:
        key = {"PK": {"S": f"EVENT#{event['id']}"}, "SK": {"S": "#META"}}
        return dict(dynamodb.get_item(TableName=AWS_ENV["SERVERFLOW_TABLE"], Key=key)["Item"])

    # No index copy at all: the history indexes it by resource, the event feed's pages by time.
    assert "GSI4PK" not in stored(events[0]) and "GSI2PK" not in stored(events[0])
    assert "GSI4PK" in stored(server_side)

    expected = [server_side["id"], *[e["id"] for e in reversed(events)]]  # newest first, each once
    found = _by_resource(client, task_run_id)
    assert (found["total"], [e["id"] for e in found["events"]]) == (4, expected)
    since = (start + datetime.timedelta(seconds=0.5)).isoformat()
    assert [e["id"] for e in _by_resource(client, task_run_id, since=since)["events"]] == expected[:3]
    assert [e["id"] for e in _by_resource(client, malformed_id)["events"]] == [malformed["id"]]

    # Events outlive their task run, as the reference's do.
    assert client.delete(f"/task_runs/{task_run_id}").status_code == 204
    assert [e["id"] for e in _by_resource(client, task_run_id)["events"]] == expected


def test_flow_run_state_events_are_found_by_resource_through_the_run_history(
    client: httpx.Client, aws_endpoint_url: str, flow_run: dict[str, Any]
) -> None:
    """The server's `prefect.flow-run.<State>` events skip the by-resource index: each has the id of the state
    it is written with, so the flow run's history finds them, before and after the run is deleted."""
    run_id = flow_run["id"]
    response = client.post(f"/flow_runs/{run_id}/set_state", json={"state": {"type": "COMPLETED"}})
    assert response.json()["status"] == "ACCEPT", response.text
    history = client.get("/flow_run_states/", params={"flow_run_id": run_id}).json()
    assert [state["type"] for state in history] == ["PENDING", "RUNNING", "COMPLETED"]

    dynamodb = emulator_client("dynamodb", aws_endpoint_url)
    for state in history:
        key = {"PK": {"S": f"EVENT#{state['id']}"}, "SK": {"S": "#META"}}
        item = dynamodb.get_item(TableName=AWS_ENV["SERVERFLOW_TABLE"], Key=key)["Item"]
        assert "GSI4PK" not in item and "GSI2PK" not in item  # by resource: the history; by time: the feed

    def by_resource() -> list[str]:
        body = {"filter": {"resource": {"id": [f"prefect.flow-run.{run_id}"]}, "order": "ASC"}, "limit": 50}
        response = client.post("/events/filter", json=body)
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["events"]]

    expected = [state["id"] for state in history]
    assert by_resource() == expected
    assert client.delete(f"/flow_runs/{run_id}").status_code == 204
    assert by_resource() == expected  # events outlive their run, as the reference's do


def _history_items(aws_endpoint_url: str, task_run_id: str) -> list[dict[str, Any]]:
    dynamodb = emulator_client("dynamodb", aws_endpoint_url)
    return list(
        dynamodb.query(
            TableName=AWS_ENV["SERVERFLOW_TABLE"],
            KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
            ExpressionAttributeValues={":pk": {"S": f"TASK_RUN#{task_run_id}"}, ":sk": {"S": "STATE#"}},
            ConsistentRead=True,
        )["Items"]
    )


def _guard_item(
    aws_endpoint_url: str, flow_run_id: str, task_key: str = "my_task-1a2b3c", dynamic_key: str = "0"
) -> Any:
    """The natural-key guard item of a task run, as stored (None if absent): in its flow run's partition."""
    from shared.storage.task_run_keys import new_key

    dynamodb = emulator_client("dynamodb", aws_endpoint_url)
    guard = new_key(uuid.UUID(flow_run_id), task_key, dynamic_key)
    key = {"PK": {"S": guard.pk}, "SK": {"S": guard.sk}}
    return dynamodb.get_item(TableName=AWS_ENV["SERVERFLOW_TABLE"], Key=key, ConsistentRead=True).get("Item")


def _held(guard: dict[str, Any]) -> list[str]:
    """The state ids a stored guard item holds."""
    from shared.storage.table import body_of_image

    return [state["id"] for state in json.loads(body_of_image(guard) or "{}").get("states", [])]


def test_a_new_runs_first_states_ride_on_its_guard_and_a_pointer_per_state_names_it(
    client: httpx.Client, aws_endpoint_url: str, flow_run: dict[str, Any], aws: None
) -> None:
    """The batch that creates a run puts its states on the run's natural-key guard (written anyway, no index
    copy): no history item. State ids that are not UUIDv7 (uuid4 here: older clients) get a pointer each."""
    from shared.events.task_run_recorder import record
    from shared.storage.table import body_of_image

    task_run_id = str(uuid.uuid4())
    events = lifecycle(task_run_id, flow_run["id"], utc_now() - datetime.timedelta(seconds=30))
    record(_received(events))  # one recorder batch (over the stream, a POST's events may come in two)

    history = client.get("/task_run_states/", params={"task_run_id": task_run_id}).json()
    assert [(s["id"], s["type"]) for s in history] == list(
        zip([e["id"] for e in events], ["PENDING", "RUNNING", "COMPLETED"], strict=True)
    )
    for state in history:
        assert client.get(f"/task_run_states/{state['id']}").json() == state

    assert _history_items(aws_endpoint_url, task_run_id) == []
    guard = _guard_item(aws_endpoint_url, flow_run["id"])
    assert _held(guard) == [e["id"] for e in events] and not any(name.startswith("GSI") for name in guard)
    for event in events:
        pointer = body_of_image(_pointer(aws_endpoint_url, event["id"]) or {})
        assert json.loads(pointer or "{}")["history_sk"] == f"{guard['PK']['S']}#{guard['SK']['S']}"

    # The run's delete takes its guard and the pointers with it; the events outlive it.
    assert client.delete(f"/task_runs/{task_run_id}").status_code == 204
    assert _guard_item(aws_endpoint_url, flow_run["id"]) is None
    assert [_pointer(aws_endpoint_url, e["id"]) for e in events] == [None] * 3
    assert client.get(f"/task_run_states/{events[0]['id']}").status_code == 404


def test_a_run_recorded_over_two_batches_keeps_its_first_states_on_its_guard(
    client: httpx.Client, aws_endpoint_url: str, flow_run: dict[str, Any], aws: None
) -> None:
    """A long task: Pending and Running in the batch that creates the run (on its guard), Completed in the next
    (a history group). A replay of both in one batch rewrites neither. The run's delete takes both; its
    events stay found by resource."""
    from shared.events.task_run_recorder import record

    task_run_id = str(uuid.uuid4())
    events = with_client_ids(lifecycle(task_run_id, flow_run["id"], utc_now() - datetime.timedelta(seconds=30)))
    ids = [e["id"] for e in events]
    _post(client, events[:2])  # recorded from the table's stream: two batches
    _post(client, events[2:])

    def stored() -> list[Any]:
        return [_history_items(aws_endpoint_url, task_run_id), _guard_item(aws_endpoint_url, flow_run["id"])]

    first = stored()
    assert len(first[0]) == 1 and _held(first[1]) == ids[:2], first
    history = client.get("/task_run_states/", params={"task_run_id": task_run_id}).json()
    assert [s["id"] for s in history] == ids
    assert [client.get(f"/task_run_states/{state_id}").json() for state_id in ids] == history
    assert [e["id"] for e in _by_resource(client, task_run_id)["events"]] == ids[::-1]

    record(_received(events))  # the stream re-delivers both batches as one: no new group (pages may be new)
    assert stored() == first
    assert client.get("/task_run_states/", params={"task_run_id": task_run_id}).json() == history
    assert [client.get(f"/task_run_states/{state_id}").json() for state_id in ids] == history

    assert client.delete(f"/task_runs/{task_run_id}").status_code == 204
    assert _history_items(aws_endpoint_url, task_run_id) == [] and _guard_item(aws_endpoint_url, flow_run["id"]) is None
    assert client.get("/task_run_states/", params={"task_run_id": task_run_id}).json() == []
    assert [e["id"] for e in _by_resource(client, task_run_id)["events"]] == ids[::-1]


def test_states_a_guard_cannot_hold_go_to_a_history_group(
    client: httpx.Client, aws_endpoint_url: str, flow_run: dict[str, Any], aws: None
) -> None:
    """A guard holds states only within one write unit; and when a later event moves the run to another natural
    key, the states its first guard holds are copied to a group (readers find a guard through the run's key)."""
    from shared.events.task_run_recorder import record

    big, moved = str(uuid.uuid4()), str(uuid.uuid4())
    start = utc_now() - datetime.timedelta(seconds=30)
    events = lifecycle(big, flow_run["id"], start, dynamic_key="big")
    # 2.5 KB of random hex: ~1.3 KB compressed, past the guard's one write unit.
    events[1]["payload"]["validated_state"]["message"] = "".join(uuid.uuid4().hex for _ in range(80))
    record(_received(events))
    assert _held(_guard_item(aws_endpoint_url, flow_run["id"], dynamic_key="big")) == []
    assert len(_history_items(aws_endpoint_url, big)) == 1
    assert _states(client, big) == ["PENDING", "RUNNING", "COMPLETED"]

    events = lifecycle(moved, flow_run["id"], start, dynamic_key="before")
    record(_received(events[:2]))
    assert len(_held(_guard_item(aws_endpoint_url, flow_run["id"], dynamic_key="before"))) == 2
    record(_received(lifecycle(moved, flow_run["id"], start, dynamic_key="after")[2:]))
    assert client.get(f"/task_runs/{moved}").json()["dynamic_key"] == "after"
    assert _states(client, moved) == ["PENDING", "RUNNING", "COMPLETED"]


def test_a_replay_split_differently_neither_duplicates_nor_loses_a_state(
    client: httpx.Client, aws_endpoint_url: str, flow_run: dict[str, Any], aws: None
) -> None:
    from shared.events.task_run_recorder import record

    task_run_id = str(uuid.uuid4())
    start = utc_now() - datetime.timedelta(seconds=30)
    events = lifecycle(task_run_id, flow_run["id"], start)
    _post(client, events)
    before = client.get("/task_run_states/", params={"task_run_id": task_run_id}).json()
    assert [s["id"] for s in before] == [e["id"] for e in events]
    # The stream re-delivers the events split over two batches: the first state alone, then the other two.
    for replayed in (events[:1], events[1:]):
        record(_received(replayed))  # the first batch alone must not hide the states it does not hold
        assert client.get("/task_run_states/", params={"task_run_id": task_run_id}).json() == before
    assert _history_items(aws_endpoint_url, task_run_id) == []  # the run's guard holds them: no group
    assert [client.get(f"/task_run_states/{e['id']}").json()["id"] for e in events] == [e["id"] for e in events]
    since = (start + datetime.timedelta(seconds=0.5)).isoformat()
    found = _by_resource(client, task_run_id, since=since)
    assert [e["id"] for e in found["events"]] == [e["id"] for e in reversed(events[1:])]


def _table(aws_endpoint_url: str) -> tuple[Any, str]:
    return emulator_client("dynamodb", aws_endpoint_url), AWS_ENV["SERVERFLOW_TABLE"]


def _pointer(aws_endpoint_url: str, state_id: str) -> dict[str, Any] | None:
    dynamodb, table = _table(aws_endpoint_url)
    key = {"PK": {"S": f"TASK_RUN_STATE#{state_id}"}, "SK": {"S": "#META"}}
    item: dict[str, Any] | None = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    return item


def _holding(aws_endpoint_url: str, pks: set[str], ids: list[str]) -> list[dict[str, Any]]:
    """The items of these partitions whose body names any of these ids: a partition (a minute and shard of
    UUIDv7 ids) holds other tests' ids too."""
    from shared.storage.table import body_of_image

    dynamodb, table = _table(aws_endpoint_url)
    found = []
    for pk in sorted(pks):
        for item in dynamodb.query(
            TableName=table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ConsistentRead=True,
        )["Items"]:
            if any(one_id in (body_of_image(item) or "") for one_id in ids):
                found.append(item)
    return found


def _pages_of(aws_endpoint_url: str, state_ids: list[str]) -> list[dict[str, Any]]:
    """The page items (of state ids) that list any of these states."""
    from shared.storage.task_run_state_ids import partition

    return _holding(aws_endpoint_url, {str(partition(uuid.UUID(state_id))) for state_id in state_ids}, state_ids)


def test_client_state_ids_are_found_by_id_through_pages_of_state_ids(
    client: httpx.Client, aws_endpoint_url: str, flow_run: dict[str, Any]
) -> None:
    """prefect 3.9.1's state ids are UUIDv7: the recorder writes no pointer per state, the page of the id's
    minute and shard finds its group; a deleted run's states are gone even though its page entries stay."""
    task_run_id = str(uuid.uuid4())
    events = with_client_ids(lifecycle(task_run_id, flow_run["id"], utc_now() - datetime.timedelta(seconds=30)))
    _post(client, events)  # recorded from the table's stream
    history = client.get("/task_run_states/", params={"task_run_id": task_run_id}).json()
    assert [s["id"] for s in history] == [e["id"] for e in events]
    for state in history:
        assert client.get(f"/task_run_states/{state['id']}").json() == state
    assert [_pointer(aws_endpoint_url, e["id"]) for e in events] == [None] * 3
    pages = _pages_of(aws_endpoint_url, [e["id"] for e in events])
    assert pages and all(page["entity"]["S"] == "task_run_state_ids" for page in pages), pages
    # The batch that created the run put its states on the run's guard; later batches (the stream may split a
    # POST's events) wrote a group each.
    held = _held(_guard_item(aws_endpoint_url, flow_run["id"]))
    assert held and held == [e["id"] for e in events][: len(held)], held
    assert len(_history_items(aws_endpoint_url, task_run_id)) <= 3 - len(held)

    assert client.delete(f"/task_runs/{task_run_id}").status_code == 204
    assert _pages_of(aws_endpoint_url, [e["id"] for e in events]) == pages
    assert _guard_item(aws_endpoint_url, flow_run["id"]) is None
    for event in events:
        assert client.get(f"/task_run_states/{event['id']}").status_code == 404


def _groups_of(aws_endpoint_url: str, event_ids: list[str]) -> list[tuple[str, str]]:
    """(PK, SK) of the event groups that hold any of these events."""
    from shared.storage.event_groups import partition

    groups = _holding(aws_endpoint_url, {str(partition(uuid.UUID(event_id))) for event_id in event_ids}, event_ids)
    assert all(item["entity"]["S"] == "event_group" and item["stream_feed"]["S"] == "task_run" for item in groups)
    return [(item["PK"]["S"], item["SK"]["S"]) for item in groups]


def test_a_posted_batch_of_client_state_events_is_stored_in_groups_and_reads_back_as_items_do(
    client: httpx.Client, aws_endpoint_url: str, flow_run: dict[str, Any]
) -> None:
    """POST /events of the SDK's shape: the task-run state events with UUIDv7 ids go into compressed event groups
    (a fraction of a write unit each), the others stay items; recording, reads by resource, time, name and id,
    count-by and a run's deletion see them as before, and a retried POST stores and records nothing twice."""
    from shared.schemas.events import Event

    start = utc_now() - datetime.timedelta(seconds=40)
    runs = [str(uuid.uuid4()) for _ in range(4)]
    grouped = [
        e
        for i, run in enumerate(runs)
        for e in with_client_ids(lifecycle(run, flow_run["id"], start, dynamic_key=f"g{i}"))
    ]
    not_v7 = lifecycle(str(uuid.uuid4()), flow_run["id"], start, dynamic_key="v4")  # uuid4 ids
    server_side = with_client_ids(
        [
            task_run_event(
                runs[0], flow_run["id"], "CANCELLED", start + datetime.timedelta(seconds=3), orchestration="server"
            )
        ]
    )  # not recordable
    batch = [*grouped, *not_v7, *server_side]
    _post(client, batch)

    dynamodb, table = _table(aws_endpoint_url)

    def item_of(event_id: str) -> dict[str, Any] | None:
        key = {"PK": {"S": f"EVENT#{event_id}"}, "SK": {"S": "#META"}}
        found: dict[str, Any] | None = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return found

    assert [item_of(e["id"]) for e in grouped] == [None] * len(grouped)
    assert all(item_of(e["id"]) is not None for e in [*not_v7, *server_side])
    groups = _groups_of(aws_endpoint_url, [e["id"] for e in grouped])
    assert groups

    def as_posted(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [Event.model_validate(e).model_dump(mode="json") for e in events]

    def as_read(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        assert all(e["received"] for e in events)
        return [{k: v for k, v in e.items() if k != "received"} for e in events]

    def related(**body: Any) -> list[dict[str, Any]]:
        until = (start + datetime.timedelta(seconds=5)).isoformat()
        event_filter = {"related": {"id": [f"prefect.flow-run.{flow_run['id']}"]}, "order": "ASC", **body}
        response = client.post("/events/filter", json={"filter": {"occurred": {"until": until}, **event_filter}})
        assert response.status_code == 200, response.text
        return list(response.json()["events"])

    def read_back() -> None:
        for run in runs:
            assert _states(client, run) == ["PENDING", "RUNNING", "COMPLETED"]
        own = [e for e in grouped if e["resource"]["prefect.resource.id"] == f"prefect.task-run.{runs[0]}"]
        found = _by_resource(client, runs[0])
        assert found["total"] == 4
        assert as_read(found["events"]) == as_posted([*server_side, *reversed(own)])  # newest first
        assert client.get(f"/task_run_states/{own[1]['id']}").json()["id"] == own[1]["id"]
        by_id = client.post("/events/filter", json={"filter": {"id": {"id": [own[2]["id"]]}}}).json()["events"]
        assert as_read(by_id) == as_posted(own[2:])
        # By time (the feed's pages, then the events by id): every event of the batch once, in `occurred` order.
        fed(client)
        in_order = sorted(batch, key=lambda e: (e["occurred"], e["id"]))
        assert as_read(related()) == as_posted(in_order)
        completed = related(event={"name": ["prefect.task-run.Completed"]})
        assert as_read(completed) == as_posted([e for e in in_order if e["event"] == "prefect.task-run.Completed"])
        counts = client.post(
            "/events/count-by/event", json={"filter": {"related": {"id": [f"prefect.flow-run.{flow_run['id']}"]}}}
        ).json()
        assert {c["value"]: c["count"] for c in counts} == {
            "prefect.task-run.Pending": 5,
            "prefect.task-run.Running": 5,
            "prefect.task-run.Completed": 5,
            "prefect.task-run.Cancelled": 1,
        }

    read_back()
    # The client retries the same POST: the same groups, written once; nothing recorded or read twice.
    _post(client, batch)
    assert _groups_of(aws_endpoint_url, [e["id"] for e in grouped]) == groups
    read_back()

    # A deleted run's grouped events are still found by resource (its history no longer indexes them).
    assert client.delete(f"/task_runs/{runs[1]}").status_code == 204
    own = [e for e in grouped if e["resource"]["prefect.resource.id"] == f"prefect.task-run.{runs[1]}"]
    assert as_read(_by_resource(client, runs[1])["events"]) == as_posted(own[::-1])


def test_a_replayed_batch_rewrites_the_same_pages_and_pointers(
    client: httpx.Client, aws_endpoint_url: str, flow_run: dict[str, Any], aws: None
) -> None:
    from shared.events.task_run_recorder import record

    task_run_id = str(uuid.uuid4())
    events = with_client_ids(lifecycle(task_run_id, flow_run["id"], utc_now() - datetime.timedelta(seconds=30)))
    events[1]["id"] = str(uuid.uuid4())  # a state id that is not UUIDv7 in the same batch: a pointer
    ids = [e["id"] for e in events]

    def stored() -> list[Any]:
        return [
            _history_items(aws_endpoint_url, task_run_id),
            _pages_of(aws_endpoint_url, ids),
            _pointer_items(),
            _guard_item(aws_endpoint_url, flow_run["id"]),
        ]

    def _pointer_items() -> list[dict[str, Any] | None]:
        return [_pointer(aws_endpoint_url, state_id) for state_id in ids]

    record(_received(events))
    first = stored()
    assert first[0] == [] and first[1] and _held(first[3]) == ids, first  # on the guard, pages for UUIDv7 ids
    assert [item is not None for item in first[2]] == [False, True, False]
    record(_received(events))  # the stream re-delivers the batch
    assert stored() == first  # the same items, nothing new
    history = client.get("/task_run_states/", params={"task_run_id": task_run_id}).json()
    assert [client.get(f"/task_run_states/{state_id}").json() for state_id in ids] == history


def test_states_of_one_page_partition_further_apart_than_a_page_spans_are_all_found(
    client: httpx.Client, aws_endpoint_url: str, flow_run: dict[str, Any], aws: None
) -> None:
    """A read Queries only the pages that start PAGE_SPAN_MS before its id: a batch whose ids of one minute and
    shard lie further apart goes into more pages, each found."""
    from shared.events.task_run_recorder import record
    from shared.storage.task_run_state_ids import PAGE_SPAN_MS, partition

    task_run_id = str(uuid.uuid4())
    minute = utc_now().replace(second=0, microsecond=0) - datetime.timedelta(minutes=2)
    events = lifecycle(task_run_id, flow_run["id"], minute + datetime.timedelta(seconds=5))
    events[2]["occurred"] = (minute + datetime.timedelta(seconds=5, milliseconds=3 * PAGE_SPAN_MS)).isoformat()
    with_client_ids(events)
    for event in events[1:]:  # ids made at the same moments, until they fall in the first one's shard
        while partition(uuid.UUID(event["id"])) != partition(uuid.UUID(events[0]["id"])):
            with_client_ids([event])
    record(_received(events))

    assert len(_pages_of(aws_endpoint_url, [e["id"] for e in events])) == 2  # the first two, then the last
    history = client.get("/task_run_states/", params={"task_run_id": task_run_id}).json()
    assert [client.get(f"/task_run_states/{e['id']}").json() for e in events] == history


def test_a_client_state_stored_before_pages_is_read_through_its_pointer(
    client: httpx.Client, aws_endpoint_url: str, flow_run: dict[str, Any], aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A UUIDv7 state recorded before pages existed (and before guards held states): its group has no version
    and a pointer per state. It reads back without a backfill, and the run's delete removes those pointers."""
    from shared.events.task_run_recorder import record
    from shared.storage import store
    from shared.storage.retention import ENV
    from shared.storage.table import TableItem

    task_run_id = str(uuid.uuid4())
    events = with_client_ids(lifecycle(task_run_id, flow_run["id"], utc_now() - datetime.timedelta(seconds=30)))
    ids = [e["id"] for e in events]
    with monkeypatch.context() as patched:
        patched.setenv(ENV, "3650")  # with a run retention guards hold no states: the group layout
        record(_received(events))
    assert _held(_guard_item(aws_endpoint_url, flow_run["id"])) == []
    # The layout written before pages: the same group without `version`, a pointer per state, no page.
    dynamodb, table = _table(aws_endpoint_url)
    for page in _pages_of(aws_endpoint_url, ids):
        dynamodb.delete_item(TableName=table, Key={"PK": page["PK"], "SK": page["SK"]})
    (group,) = _history_items(aws_endpoint_url, task_run_id)
    dynamodb.update_item(TableName=table, Key={"PK": group["PK"], "SK": group["SK"]}, UpdateExpression="REMOVE version")
    pointer = json.dumps({"task_run_id": task_run_id, "history_sk": group["SK"]["S"]})
    store.batch_put(
        TableItem(f"TASK_RUN_STATE#{state_id}", "#META", entity="task_run_state_pointer", body=pointer)
        for state_id in ids
    )

    history = client.get("/task_run_states/", params={"task_run_id": task_run_id}).json()
    assert [s["id"] for s in history] == ids
    assert [client.get(f"/task_run_states/{state_id}").json() for state_id in ids] == history
    assert client.delete(f"/task_runs/{task_run_id}").status_code == 204
    assert [_pointer(aws_endpoint_url, state_id) for state_id in ids] == [None] * 3
    assert client.get(f"/task_run_states/{ids[0]}").status_code == 404


def _to_legacy_layout(aws_endpoint_url: str, flow_run_id: str, task_run_id: str) -> None:
    """Store a run as runs were before guards moved to their flow run's partition: its guard under the hashed
    legacy key, and its by-flow-run index copy (GSI1) on the run item."""
    from shared.storage.task_run_keys import legacy_key, new_key

    dynamodb = emulator_client("dynamodb", aws_endpoint_url)
    table = AWS_ENV["SERVERFLOW_TABLE"]
    moved, legacy = (
        new_key(uuid.UUID(flow_run_id), "my_task-1a2b3c", "0"),
        legacy_key(uuid.UUID(flow_run_id), "my_task-1a2b3c", "0"),
    )
    guard = _guard_item(aws_endpoint_url, flow_run_id)
    dynamodb.put_item(TableName=table, Item={**guard, "PK": {"S": legacy.pk}, "SK": {"S": legacy.sk}})
    dynamodb.delete_item(TableName=table, Key={"PK": {"S": moved.pk}, "SK": {"S": moved.sk}})
    dynamodb.update_item(
        TableName=table,
        Key={"PK": {"S": f"TASK_RUN#{task_run_id}"}, "SK": {"S": "#META"}},
        UpdateExpression="SET GSI1PK = :pk, GSI1SK = :sk",
        ExpressionAttributeValues={":pk": {"S": f"TASK_RUNS_OF#{flow_run_id}"}, ":sk": {"S": task_run_id}},
    )


def test_a_run_stored_before_the_guards_moved_keeps_its_key_and_listing(
    client: httpx.Client, aws_endpoint_url: str, flow_run: dict[str, Any], aws: None
) -> None:
    """A run stored with a legacy guard and a GSI1 copy stays listed by its flow run, keeps its natural key (a
    REST create and events under another id adopt it), keeps its layout when rewritten, and its delete takes
    the legacy guard; its guard-held states stay found."""
    from shared.events.task_run_recorder import record
    from shared.storage.task_run_keys import legacy_key

    task_run_id = str(uuid.uuid4())
    start = utc_now() - datetime.timedelta(seconds=30)
    events = with_client_ids(lifecycle(task_run_id, flow_run["id"], start))
    record(_received(events[:2]))
    _to_legacy_layout(aws_endpoint_url, flow_run["id"], task_run_id)

    def listed() -> list[str]:
        body = {"flow_runs": {"id": {"any_": [flow_run["id"]]}}}
        return [r["id"] for r in client.post("/task_runs/filter", json=body).json()]

    assert listed() == [task_run_id]
    counted = client.post("/ui/flow_runs/count-task-runs", json={"flow_run_ids": [flow_run["id"]]}).json()
    assert counted == {flow_run["id"]: 1}  # through its GSI1 copy: its guard is no longer in the flow run's partition
    created = client.post(
        "/task_runs/", json={"flow_run_id": flow_run["id"], "task_key": "my_task-1a2b3c", "dynamic_key": "0"}
    )
    assert created.json()["id"] == task_run_id
    other = str(uuid.uuid4())
    record(_received(with_client_ids(lifecycle(other, flow_run["id"], start + datetime.timedelta(seconds=1)))[2:]))
    assert client.get(f"/task_runs/{other}").status_code == 404
    run = client.get(f"/task_runs/{task_run_id}").json()
    assert run["state_type"] == "COMPLETED" and listed() == [task_run_id]
    assert _guard_item(aws_endpoint_url, flow_run["id"]) is None  # no second guard in the flow run's partition
    assert _states(client, task_run_id) == ["PENDING", "RUNNING", "COMPLETED"]
    assert client.get(f"/task_run_states/{events[0]['id']}").json()["type"] == "PENDING"  # held by the legacy guard

    assert client.delete(f"/task_runs/{task_run_id}").status_code == 204
    legacy = legacy_key(uuid.UUID(flow_run["id"]), "my_task-1a2b3c", "0")
    dynamodb = emulator_client("dynamodb", aws_endpoint_url)
    key = {"PK": {"S": legacy.pk}, "SK": {"S": legacy.sk}}
    assert "Item" not in dynamodb.get_item(TableName=AWS_ENV["SERVERFLOW_TABLE"], Key=key, ConsistentRead=True)
    assert listed() == []


def test_pages_written_before_with_eight_shards_and_a_row_per_state_are_still_read(
    client: httpx.Client, aws_endpoint_url: str, flow_run: dict[str, Any], aws: None
) -> None:
    """Pages of state ids were once split over LEGACY_SHARDS partitions a minute and listed one
    [state id, task run id, location] row per state: an id in such a page is still found."""
    from shared.events.task_run_recorder import record
    from shared.storage import store
    from shared.storage.table import TableItem
    from shared.storage.task_run_state_ids import LEGACY_SHARDS, partition

    task_run_id = str(uuid.uuid4())
    events = with_client_ids(lifecycle(task_run_id, flow_run["id"], utc_now() - datetime.timedelta(seconds=30)))
    for event in events:  # ids whose partition differs under the two shard counts
        while partition(uuid.UUID(event["id"]), LEGACY_SHARDS) == partition(uuid.UUID(event["id"])):
            with_client_ids([event])
    ids = [e["id"] for e in events]
    record(_received(events))
    history = client.get("/task_run_states/", params={"task_run_id": task_run_id}).json()

    dynamodb, table = _table(aws_endpoint_url)
    for page in _pages_of(aws_endpoint_url, ids):
        dynamodb.delete_item(TableName=table, Key={"PK": page["PK"], "SK": page["SK"]})
    guard = _guard_item(aws_endpoint_url, flow_run["id"])
    where = f"{guard['PK']['S']}#{guard['SK']['S']}"
    store.batch_put(
        TableItem(
            str(partition(uuid.UUID(state_id), LEGACY_SHARDS)),
            f"{state_id}#0",
            entity="task_run_state_ids",
            body=json.dumps([[state_id, task_run_id, where]]),
        )
        for state_id in ids
    )
    assert _pages_of(aws_endpoint_url, ids) == []  # none left where pages go now
    assert [client.get(f"/task_run_states/{state_id}").json() for state_id in ids] == history


def test_with_a_run_retention_a_flow_runs_task_run_count_leaves_out_expired_runs(
    client: httpx.Client, aws_endpoint_url: str, flow_run: dict[str, Any], aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards keep no TTL: once a run expires (DynamoDB's TTL deletes its item) a COUNT of its flow run's guards
    would still count it, so with a run retention the count reads the runs its guards name."""
    from shared.events.task_run_recorder import record
    from shared.storage import task_runs
    from shared.storage.retention import ENV

    ids = [str(uuid.uuid4()) for _ in range(2)]
    start = utc_now() - datetime.timedelta(seconds=30)
    events = [e for n, tid in enumerate(ids) for e in lifecycle(tid, flow_run["id"], start, dynamic_key=f"r{n}")]
    monkeypatch.setenv(ENV, "3650")
    record(_received(events))
    flow_run_id = uuid.UUID(flow_run["id"])
    assert task_runs.count_for_flow_run(flow_run_id) == 2
    dynamodb, table = _table(aws_endpoint_url)
    dynamodb.delete_item(TableName=table, Key={"PK": {"S": f"TASK_RUN#{ids[0]}"}, "SK": {"S": "#META"}})  # as TTL does
    assert task_runs.count_for_flow_run(flow_run_id) == 1
    monkeypatch.delenv(ENV)
    assert task_runs.count_for_flow_run(flow_run_id) == 2  # runs kept forever: the guards alone are counted
