"""Keyed task runs (issue #13): a run the recorder creates in a flow run with a UUIDv7 id, as prefect 3.9.1's
client makes them, is stored at its natural key in its flow run's partition (one item: run and guard) and
found by id through its page of run ids. Every public path must see it as before: reads by id and filter,
listings and counts, its history and events, REST writes, subflow marks, deletes."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import httpx

from tests.aws_env import AWS_ENV, emulator_client
from tests.support.events import lifecycle, recorded, utc_now, uuid7_at, with_client_ids


def _post(client: httpx.Client, events: list[dict[str, Any]]) -> None:
    response = client.post("/events", json=events)
    assert response.status_code == 204, response.text
    recorded(client)


def _client_run(flow_run_id: str, start: datetime.datetime, **kw: Any) -> tuple[str, list[dict[str, Any]]]:
    """A task run id and its three state events, with UUIDv7 ids as the prefect client makes them."""
    task_run_id = uuid7_at(start)
    return task_run_id, with_client_ids(lifecycle(task_run_id, flow_run_id, start, **kw))


def _item(aws_endpoint_url: str, pk: str, sk: str = "#META") -> dict[str, Any] | None:
    dynamodb = emulator_client("dynamodb", aws_endpoint_url)
    key = {"PK": {"S": pk}, "SK": {"S": sk}}
    found: dict[str, Any] | None = dynamodb.get_item(
        TableName=AWS_ENV["SERVERFLOW_TABLE"], Key=key, ConsistentRead=True
    ).get("Item")
    return found


def _keyed(aws_endpoint_url: str, flow_run_id: str, dynamic_key: str = "0") -> dict[str, Any] | None:
    from shared.storage.task_run_keys import new_key

    place = new_key(uuid.UUID(flow_run_id), "my_task-1a2b3c", dynamic_key)
    return _item(aws_endpoint_url, place.pk, place.sk)


def _history(client: httpx.Client, task_run_id: str) -> list[str]:
    return [s["type"] for s in client.get("/task_run_states/", params={"task_run_id": task_run_id}).json()]


def _by_resource(client: httpx.Client, task_run_id: str) -> list[str]:
    body = {"filter": {"resource": {"id": [f"prefect.task-run.{task_run_id}"]}, "order": "ASC"}}
    response = client.post("/events/filter", json=body)
    assert response.status_code == 200, response.text
    return [event["id"] for event in response.json()["events"]]


def _listed(client: httpx.Client, flow_run_id: str) -> list[str]:
    body = {"flow_runs": {"id": {"any_": [flow_run_id]}}}
    return [run["id"] for run in client.post("/task_runs/filter", json=body).json()]


def _count(client: httpx.Client, flow_run_id: str) -> int:
    response = client.post("/ui/flow_runs/count-task-runs", json={"flow_run_ids": [flow_run_id]})
    return int(response.json()[flow_run_id])


def test_a_client_task_run_is_one_item_at_its_natural_key_and_reads_as_before(
    client: httpx.Client, aws_endpoint_url: str, flow_run: dict[str, Any]
) -> None:
    start = utc_now() - datetime.timedelta(seconds=30)
    task_run_id, events = _client_run(flow_run["id"], start)
    _post(client, events)

    # Stored once: at its natural key, holding its three states; nothing keyed by its id, no history item.
    keyed = _keyed(aws_endpoint_url, flow_run["id"])
    assert keyed is not None and keyed["entity"]["S"] == "task_run" and "held" in keyed
    assert _item(aws_endpoint_url, f"TASK_RUN#{task_run_id}") is None
    assert "GSI1PK" not in keyed and keyed["GSI3PK"]["S"].startswith("TASK_RUNS_IN#COMPLETED#")  # listed by state

    run = client.get(f"/task_runs/{task_run_id}").json()
    assert (run["id"], run["flow_run_id"], run["state_type"]) == (task_run_id, flow_run["id"], "COMPLETED")
    by_id = client.post("/task_runs/filter", json={"task_runs": {"id": {"any_": [task_run_id, str(uuid.uuid4())]}}})
    assert [r["id"] for r in by_id.json()] == [task_run_id]
    assert _listed(client, flow_run["id"]) == [task_run_id] and _count(client, flow_run["id"]) == 1
    completed = {"task_runs": {"state": {"type": {"any_": ["COMPLETED"]}}, "id": {"any_": [task_run_id]}}}
    assert client.post("/task_runs/count", json=completed).json() == 1
    assert _history(client, task_run_id) == ["PENDING", "RUNNING", "COMPLETED"]
    assert [client.get(f"/task_run_states/{e['id']}").json()["type"] for e in events] == [
        "PENDING",
        "RUNNING",
        "COMPLETED",
    ]
    assert _by_resource(client, task_run_id) == [e["id"] for e in events]

    # A replay changes nothing; a REST create of its natural key returns it; events of the same natural key
    # under another id are recorded on it (the reference rewrites the event's id).
    _post(client, events)
    assert _keyed(aws_endpoint_url, flow_run["id"]) == keyed
    created = client.post(
        "/task_runs/", json={"flow_run_id": flow_run["id"], "task_key": "my_task-1a2b3c", "dynamic_key": "0"}
    )
    assert created.status_code == 200 and created.json()["id"] == task_run_id
    other, later = _client_run(flow_run["id"], start + datetime.timedelta(seconds=5))
    _post(client, later[1:2])  # RUNNING again, newer
    assert client.get(f"/task_runs/{other}").status_code == 404
    assert client.get(f"/task_runs/{task_run_id}").json()["state_type"] == "RUNNING"
    assert _listed(client, flow_run["id"]) == [task_run_id]
    assert _history(client, task_run_id) == ["PENDING", "RUNNING", "COMPLETED", "RUNNING"]


def test_rest_writes_marks_and_deletes_of_keyed_runs(
    client: httpx.Client, aws_endpoint_url: str, flow_run: dict[str, Any]
) -> None:
    start = utc_now() - datetime.timedelta(seconds=60)
    first, events = _client_run(flow_run["id"], start)
    second, more = _client_run(flow_run["id"], start + datetime.timedelta(seconds=3), dynamic_key="1")
    _post(client, events[:2] + more)  # the first stays RUNNING
    held = _keyed(aws_endpoint_url, flow_run["id"])
    assert held is not None and "held" in held

    # REST state changes and PATCH rewrite the run where it is, keeping the states it holds.
    response = client.post(f"/task_runs/{first}/set_state", json={"state": {"type": "COMPLETED"}})
    assert response.status_code == 201 and response.json()["status"] == "ACCEPT", response.text
    assert client.patch(f"/task_runs/{first}", json={"name": "renamed"}).status_code == 204
    run = client.get(f"/task_runs/{first}").json()
    assert (run["state_type"], run["name"]) == ("COMPLETED", "renamed")
    assert _history(client, first) == ["PENDING", "RUNNING", "COMPLETED"]
    assert _item(aws_endpoint_url, f"TASK_RUN#{first}") is None
    rewritten = _keyed(aws_endpoint_url, flow_run["id"])
    assert rewritten is not None and rewritten["held"] == held["held"]

    # A subflow created under the second run marks it: the count leaves it out, and a later state recorded on
    # it (a rewrite of the whole item) keeps the mark.
    flow_id = client.get(f"/flow_runs/{flow_run['id']}").json()["flow_id"]
    child = client.post("/flow_runs/", json={"flow_id": flow_id, "parent_task_run_id": second})
    assert child.status_code == 201, child.text
    assert _count(client, flow_run["id"]) == 1 and sorted(_listed(client, flow_run["id"])) == sorted([first, second])
    assert client.get(f"/task_runs/{second}").json()["state_type"] == "PENDING"  # the subflow's state, mirrored
    newer = with_client_ids(lifecycle(second, flow_run["id"], utc_now(), dynamic_key="1"))
    _post(client, newer[1:2])
    assert client.get(f"/task_runs/{second}").json()["state_type"] == "RUNNING"
    assert _count(client, flow_run["id"]) == 1

    # Deletes: the run and its item go, its events stay found by resource.
    assert client.delete(f"/task_runs/{first}").status_code == 204
    assert client.get(f"/task_runs/{first}").status_code == 404
    assert _keyed(aws_endpoint_url, flow_run["id"]) is None
    assert _by_resource(client, first) == [e["id"] for e in events[:2]]
    assert _listed(client, flow_run["id"]) == [second]
    assert client.delete(f"/flow_runs/{flow_run['id']}").status_code == 204
    assert client.get(f"/task_runs/{second}").status_code == 404
    assert _keyed(aws_endpoint_url, flow_run["id"], "1") is None


def test_a_keyed_runs_rewrite_keeps_a_subflow_mark_set_after_it_was_read(
    client: httpx.Client, flow_run: dict[str, Any], aws: None
) -> None:
    """The mark is an UpdateItem of the run's item: a writer that read the item before it would drop it with its
    whole-item put; the put holds only while the mark is as read, and the writer reads again."""
    from shared.schemas.states import State
    from shared.schemas.task_runs import TaskRun
    from shared.storage import store, task_run_keys, task_runs
    from shared.storage.keys import decode

    start = utc_now() - datetime.timedelta(seconds=30)
    task_run_id, events = _client_run(flow_run["id"], start)
    _post(client, events[:2])
    stored = task_run_keys.keyed_items([uuid.UUID(task_run_id)])[uuid.UUID(task_run_id)]
    place = task_runs._place_of(decode(stored, TaskRun), stored)  # as a writer read it, before the mark
    task_runs.mark_subflow_parent(uuid.UUID(task_run_id), uuid.uuid4())
    later = State.model_validate({"type": "COMPLETED", "name": "Completed", "timestamp": utc_now().isoformat()})
    run = decode(stored, TaskRun).model_copy(update={"state": later, "state_type": later.type})
    task_runs._put_if_newer(run, place)
    item = store.get(stored.PK, stored.SK)
    assert item is not None and item.child_flow_run_id is not None and decode(item, TaskRun).state_type == "COMPLETED"
