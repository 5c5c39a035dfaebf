"""A request's lines are one group per flow run (its task runs' lines together, no by-task-run index copy);
reads by task run go through the task run (its flow run and time span), over HTTP against the local stack."""

from __future__ import annotations

import datetime
import json
import random
import uuid
from typing import Any

import httpx
import pytest

from tests.aws_env import AWS_ENV, emulator_client, stack_aws_env
from tests.support.events import running_flow_run

Line = dict[str, Any]


def _filter(client: httpx.Client, **body: Any) -> list[Line]:
    response = client.post("/logs/filter", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _ids(lines: list[Line]) -> list[str]:
    return [line["id"] for line in lines]


def _reference_order(logs: list[Line], descending: bool) -> list[Line]:
    """The reference's ORDER BY timestamp (asc or desc), id DESC."""
    by_id = sorted(logs, key=lambda log: log["id"], reverse=True)
    return sorted(by_id, key=lambda log: datetime.datetime.fromisoformat(log["timestamp"]), reverse=descending)


def _task_run(client: httpx.Client, flow_run_id: str | None, task_key: str) -> dict[str, Any]:
    response = client.post("/task_runs/", json={"flow_run_id": flow_run_id, "task_key": task_key, "dynamic_key": "0"})
    assert response.status_code == 201, response.text
    return response.json()


def _partition(aws_endpoint_url: str, pk: str) -> list[dict[str, Any]]:
    response = emulator_client("dynamodb", aws_endpoint_url).query(
        TableName=AWS_ENV["SERVERFLOW_TABLE"],
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    )
    return list(response["Items"])


@pytest.fixture(scope="module")
def request_of_a_flow_run(api_url: str) -> dict[str, Any]:
    """One POST of 90 lines over 25 s around now, shuffled: the flow run's own and those of three of its task
    runs, pairs sharing a timestamp (the id breaks the tie); a fourth task run of another flow run logs too."""
    with httpx.Client(base_url=api_url, timeout=30) as client:
        flow_run, other_run = running_flow_run(client), running_flow_run(client)
        tasks = [_task_run(client, flow_run["id"], f"t{i}") for i in range(3)]
        elsewhere = _task_run(client, other_run["id"], "t-other")
        start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=5)
        owners: list[tuple[str, str | None]] = [(flow_run["id"], None)] + [(flow_run["id"], t["id"]) for t in tasks]
        owners.append((other_run["id"], elsewhere["id"]))
        lines = [
            {
                "name": "prefect.task_runs",
                "level": 40 if i % 7 == 0 else 20,
                "message": f"line {i}",
                "timestamp": (start + datetime.timedelta(seconds=i // 2 * 25 / 45)).isoformat(),
                "flow_run_id": owners[i % 5][0],
                "task_run_id": owners[i % 5][1],
            }
            for i in range(90)
        ]
        random.Random(7).shuffle(lines)
        assert client.post("/logs/", json=lines).status_code == 201
        stored = _filter(client, logs={"flow_run_id": {"any_": [flow_run["id"]]}})
        stored += _filter(client, logs={"flow_run_id": {"any_": [other_run["id"]]}})
    return {"flow_run": flow_run, "tasks": tasks, "elsewhere": elsewhere, "stored": stored}


def test_a_flow_runs_lines_are_one_group_per_window_without_a_task_run_index(
    request_of_a_flow_run: dict[str, Any], aws_endpoint_url: str
) -> None:
    """25 s of lines of a flow run and three task runs: 3 groups (10 s windows), none indexed by task run."""
    items = _partition(aws_endpoint_url, f"LOGS_FR#{request_of_a_flow_run['flow_run']['id']}")
    assert len(items) == 3
    assert all("GSI1PK" not in item for item in items)
    assert len(request_of_a_flow_run["stored"]) == 90


def test_reads_by_task_run_find_exactly_its_lines_in_order_and_pages(
    client: httpx.Client, request_of_a_flow_run: dict[str, Any]
) -> None:
    stored, tasks = request_of_a_flow_run["stored"], request_of_a_flow_run["tasks"]
    flow_run_id, elsewhere = request_of_a_flow_run["flow_run"]["id"], request_of_a_flow_run["elsewhere"]["id"]
    task_ids = [task["id"] for task in tasks]
    cases: list[tuple[dict[str, Any], set[str | None]]] = [
        *(({"task_run_id": {"any_": [task_id]}}, {task_id}) for task_id in task_ids),
        ({"task_run_id": {"any_": [task_ids[0], elsewhere]}}, {task_ids[0], elsewhere}),  # two flow runs
        ({"task_run_id": {"any_": task_ids}, "level": {"ge_": 40}}, set(task_ids)),
        ({"flow_run_id": {"any_": [flow_run_id]}}, {None, *task_ids}),
        ({"flow_run_id": {"any_": [flow_run_id]}, "task_run_id": {"is_null_": True}}, {None}),
    ]
    for flt, owners in cases:
        for sort in ("TIMESTAMP_ASC", "TIMESTAMP_DESC"):
            expected = [
                line
                for line in _reference_order(stored, sort == "TIMESTAMP_DESC")
                if line["task_run_id"] in owners and ("level" not in flt or line["level"] >= 40)
            ]
            assert expected, flt
            for offset, limit in ((0, 200), (0, 1), (4, 5), (len(expected) - 2, 5)):
                got = _filter(client, logs=flt, sort=sort, offset=offset, limit=limit)
                assert _ids(got) == _ids(expected)[offset : offset + limit], (flt, sort, offset, limit)


def test_a_task_runs_lines_are_read_over_its_span(client: httpx.Client) -> None:
    """By task run alone, a task run's lines are read from before its first recorded time to its end, each
    widened by a minute (docs/compatibility.md): lines logged after it finished are found, lines far outside
    are found with its flow run only, as are the lines naming a task run never created; a sibling's are not."""
    flow_run = running_flow_run(client)
    task, sibling = _task_run(client, flow_run["id"], "a"), _task_run(client, flow_run["id"], "b")
    never_created = str(uuid.uuid4())
    now = datetime.datetime.now(datetime.UTC)
    lines = [
        {
            "name": "n",
            "level": 20,
            "message": f"{who} {s}",
            "timestamp": (now + datetime.timedelta(seconds=s)).isoformat(),
        }
        | {"flow_run_id": flow_run["id"], "task_run_id": run_id}
        for s in (-300, 0, 3, 12, 300)
        for who, run_id in (("task", task["id"]), ("sibling", sibling["id"]), ("never", never_created))
    ]
    assert client.post("/logs/", json=lines).status_code == 201
    finished = client.post(f"/task_runs/{task['id']}/set_state", json={"state": {"type": "COMPLETED"}, "force": True})
    assert finished.json()["status"] == "ACCEPT", finished.text
    assert client.get(f"/task_runs/{task['id']}").json()["end_time"] is not None

    def said(**flt: Any) -> list[str]:
        return [line["message"] for line in _filter(client, logs=flt)]

    assert said(task_run_id={"any_": [task["id"]]}) == ["task 0", "task 3", "task 12"]
    newest = _filter(client, logs={"task_run_id": {"any_": [task["id"]]}}, sort="TIMESTAMP_DESC", limit=1)
    assert [line["message"] for line in newest] == ["task 12"]
    assert said(task_run_id={"any_": [sibling["id"]]}) == ["sibling 0", "sibling 3", "sibling 12", "sibling 300"]
    assert said(task_run_id={"any_": [never_created]}) == []
    in_run = {"flow_run_id": {"any_": [flow_run["id"]]}}
    assert said(**in_run, task_run_id={"any_": [never_created]}) == [f"never {s}" for s in (-300, 0, 3, 12, 300)]
    assert said(**in_run, task_run_id={"any_": [task["id"]]}) == [f"task {s}" for s in (-300, 0, 3, 12, 300)]


def test_groups_stored_per_task_run_before_still_read(client: httpx.Client, aws_endpoint_url: str) -> None:
    """A group written per (flow run, task run) with its by-task-run GSI1 copy (the task run on the group, not
    on its lines) reads back by task run and by flow run, merged in order with the new groups; a task run's
    delete deletes it and cuts the task run's lines out of the new groups, leaving every other line."""
    flow_run = running_flow_run(client)
    task, sibling = _task_run(client, flow_run["id"], "old"), _task_run(client, flow_run["id"], "sib")
    now = datetime.datetime.now(datetime.UTC)
    token = uuid.uuid4().hex  # in every message: the all-logs read below finds this test's lines by text

    def said(lines: list[Line]) -> list[str]:
        return [line["message"].removesuffix(f" {token}") for line in lines]

    def at(seconds: float) -> str:
        return (now + datetime.timedelta(seconds=seconds)).isoformat()

    new = [
        {"name": "n", "level": 20, "message": f"{message} {token}", "timestamp": at(s), "flow_run_id": flow_run["id"]}
        | {"task_run_id": owner}
        for message, s, owner in (
            ("new 0", 0, task["id"]),
            ("flow 1", 1, None),
            ("sibling 3", 3, sibling["id"]),
            ("new 4", 4, task["id"]),
            ("new 30", 30, task["id"]),  # a group of its own: only the task run's line, deleted whole
        )
    ]
    assert client.post("/logs/", json=new).status_code == 201
    # Two more requests of flow-level lines: groups keyed before and after the first one's key ("new 0"), with
    # lines before its first line left after the cut ("flow 1"): a read orders groups by key, not first line.
    for request in ((("flow -1", -1), ("flow 0.7", 0.7)), (("flow 0.5", 0.5),)):
        flow_lines = [
            {
                "name": "n",
                "level": 20,
                "message": f"{message} {token}",
                "timestamp": at(s),
                "flow_run_id": flow_run["id"],
            }
            for message, s in request
        ]
        assert client.post("/logs/", json=flow_lines).status_code == 201
    old_id = str(uuid.uuid4())
    old_time = now + datetime.timedelta(seconds=2)
    sk = f"{old_time.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{old_id}#0"
    group = {
        "flow_run_id": flow_run["id"],
        "task_run_id": task["id"],
        "created": at(2),
        "lines": [{"id": old_id, "name": "n", "level": 20, "message": f"old 2 {token}", "timestamp": at(2)}],
    }
    emulator_client("dynamodb", aws_endpoint_url).put_item(
        TableName=AWS_ENV["SERVERFLOW_TABLE"],
        Item={
            "PK": {"S": f"LOGS_FR#{flow_run['id']}"},
            "SK": {"S": sk},
            "entity": {"S": "log_group"},
            "body": {"S": json.dumps(group)},
            "GSI1PK": {"S": f"LOGS_TR#{task['id']}"},
            "GSI1SK": {"S": sk},
            "expires_at": {"N": str(int(now.timestamp()) + 3600)},
        },
    )
    by_task = {"task_run_id": {"any_": [task["id"]]}}
    in_run = {"flow_run_id": {"any_": [flow_run["id"]]}}
    assert said(_filter(client, logs=by_task)) == ["new 0", "old 2", "new 4", "new 30"]
    assert said(_filter(client, logs=by_task, sort="TIMESTAMP_DESC", limit=3)) == ["new 30", "new 4", "old 2"]
    assert [line["task_run_id"] for line in _filter(client, logs=by_task)] == [task["id"]] * 4
    everything = ["flow -1", "new 0", "flow 0.5", "flow 0.7", "flow 1", "old 2", "sibling 3", "new 4", "new 30"]
    assert said(_filter(client, logs=in_run)) == everything

    assert client.delete(f"/task_runs/{task['id']}").status_code == 204
    assert _filter(client, logs=by_task) == []  # as the reference, which deletes a deleted task run's logs
    left = ["flow -1", "flow 0.5", "flow 0.7", "flow 1", "sibling 3"]
    assert said(_filter(client, logs=in_run)) == left
    assert said(_filter(client, logs=in_run, sort="TIMESTAMP_DESC")) == left[::-1]
    for offset in range(len(left)):
        assert said(_filter(client, logs=in_run, offset=offset, limit=2)) == left[offset : offset + 2]
    all_logs = {"timestamp": {"after_": at(-2), "before_": at(31)}, "text": {"query": token}}
    assert said(_filter(client, logs=all_logs)) == left
    assert said(_filter(client, logs={"task_run_id": {"any_": [sibling["id"]]}})) == ["sibling 3"]
    assert len(_partition(aws_endpoint_url, f"LOGS_FR#{flow_run['id']}")) == 3  # the cut group keeps its key


def test_a_cut_from_a_stale_read_keeps_another_cuts_work(client: httpx.Client, aws_endpoint_url: str) -> None:
    """Two task runs of a flow run deleted at once, their lines in one group: the cut that read the group
    before the other's rewrite fails its version condition, re-reads and cuts again, so neither task run's
    lines come back and the other lines all stay."""
    from shared.storage import logs, store

    flow_run = running_flow_run(client)
    runs = {name: _task_run(client, flow_run["id"], name) for name in ("a", "b", "c")}
    now = datetime.datetime.now(datetime.UTC).isoformat()
    lines = [{"name": "n", "level": 20, "message": "flow", "timestamp": now, "flow_run_id": flow_run["id"]}]
    lines += [line | {"message": name, "task_run_id": run["id"]} for name, run in runs.items() for line in lines[:1]]
    assert client.post("/logs/", json=lines).status_code == 201
    with stack_aws_env(aws_endpoint_url):
        [stale] = list(store.query(f"LOGS_FR#{flow_run['id']}"))  # as b's delete reads it, before a's cut
    assert client.delete(f"/task_runs/{runs['a']['id']}").status_code == 204
    with stack_aws_env(aws_endpoint_url):
        assert logs._cut(stale, uuid.UUID(runs["b"]["id"])) == 1
    in_run = {"flow_run_id": {"any_": [flow_run["id"]]}}
    assert sorted(line["message"] for line in _filter(client, logs=in_run)) == ["c", "flow"]
