"""A flow run's state-independent index keys live on its index anchor, so state changes do not
rewrite them; runs stored before anchors (keys on the run item) still list, and move on their next write."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import httpx

from tests.aws_env import AWS_ENV, emulator_client

TABLE = AWS_ENV["SERVERFLOW_TABLE"]
ANCHORED = ("GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI4PK", "GSI4SK", "GSI7PK", "GSI7SK")


def _partition(dynamodb: Any, run_id: str) -> dict[str, dict[str, Any]]:
    """The run's partition by sort key (#META: the run, #INDEX: its anchor, STATE#...: history)."""
    items = dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"FLOW_RUN#{run_id}"}},
        ConsistentRead=True,
    )["Items"]
    return {item["SK"]["S"]: item for item in items}


def _scheduled_run(client: httpx.Client, tag: str) -> dict[str, Any]:
    flow = client.post("/flows/", json={"name": f"anchor-{tag}"}).json()
    deployment = client.post("/deployments/", json={"name": f"anchor-{tag}", "flow_id": flow["id"]}).json()
    # The latest expected start in the store: the expected-start listing (GSI7) reaches it first (its
    # future start makes the tests force their state changes past the WAIT rule).
    when = datetime.datetime(2150, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(seconds=uuid.uuid4().int % 10**6)
    state = {"type": "SCHEDULED", "state_details": {"scheduled_time": when.isoformat()}}
    body = {"flow_id": flow["id"], "deployment_id": deployment["id"], "tags": [tag], "state": state}
    run = client.post("/flow_runs/", json=body).json()
    assert run["state_type"] == "SCHEDULED", run
    return run


def _assert_listed(client: httpx.Client, run: dict[str, Any], tag: str, expected: list[tuple[str, str]]) -> None:
    """Each anchored index lists `expected`: (id, state type) of the tagged runs."""
    tagged = {"tags": {"all_": [tag]}}
    bodies = {
        "by flow (GSI2)": {"flows": {"id": {"any_": [run["flow_id"]]}}},
        "by deployment (GSI4)": {"flow_runs": {**tagged, "deployment_id": {"any_": [run["deployment_id"]]}}},
        "all runs (GSI1)": {"flow_runs": tagged, "limit": 5},
        "by expected start (GSI7)": {"flow_runs": tagged, "sort": "EXPECTED_START_TIME_DESC", "limit": 5},
    }
    found = {}
    for label, body in bodies.items():
        response = client.post("/flow_runs/filter", json=body)
        assert response.status_code == 200, response.text
        found[label] = [(r["id"], r["state_type"]) for r in response.json()]
    assert found == dict.fromkeys(bodies, expected)


def test_state_changes_do_not_rewrite_the_index_anchor(client: httpx.Client, aws_endpoint_url: str) -> None:
    tag = uuid.uuid4().hex[:10]
    run = _scheduled_run(client, tag)
    dynamodb = emulator_client("dynamodb", aws_endpoint_url)
    items = _partition(dynamodb, run["id"])
    assert all(name not in items["#META"] for name in ANCHORED)  # the run item: only state-following keys
    assert "GSI5PK" in items["#META"] and "GSI6PK" in items["#META"]
    anchor = items["#INDEX"]
    assert all(name in anchor for name in ANCHORED) and "body" not in anchor
    # Mark the stored anchor: any rewrite of it (and of its index copies) would drop the mark.
    dynamodb.put_item(TableName=TABLE, Item={**anchor, "probe": {"S": "untouched"}})

    for state in ("PENDING", "RUNNING", "COMPLETED"):
        response = client.post(f"/flow_runs/{run['id']}/set_state", json={"state": {"type": state}, "force": True})
        assert response.json()["status"] == "ACCEPT", response.text
    items = _partition(dynamodb, run["id"])
    assert items["#INDEX"].get("probe") == {"S": "untouched"}
    assert all(name not in items["#META"] for name in ANCHORED)
    # The indexes list the anchor; the run read behind it is current.
    _assert_listed(client, run, tag, [(run["id"], "COMPLETED")])

    assert client.delete(f"/flow_runs/{run['id']}").status_code == 204
    assert _partition(dynamodb, run["id"]) == {}  # the anchor went with the run's partition
    _assert_listed(client, run, tag, [])


def test_runs_stored_before_anchors_still_list_and_move_on_their_next_write(
    client: httpx.Client, aws_endpoint_url: str
) -> None:
    tag = uuid.uuid4().hex[:10]
    run = _scheduled_run(client, tag)
    dynamodb = emulator_client("dynamodb", aws_endpoint_url)
    # The layout before anchors: every index key on the run item, no anchor.
    items = _partition(dynamodb, run["id"])
    keys = {name: items["#INDEX"][name] for name in ANCHORED}
    dynamodb.put_item(TableName=TABLE, Item={**items["#META"], **keys})
    dynamodb.delete_item(TableName=TABLE, Key={"PK": items["#INDEX"]["PK"], "SK": items["#INDEX"]["SK"]})

    _assert_listed(client, run, tag, [(run["id"], "SCHEDULED")])

    response = client.post(f"/flow_runs/{run['id']}/set_state", json={"state": {"type": "PENDING"}, "force": True})
    assert response.json()["status"] == "ACCEPT", response.text
    items = _partition(dynamodb, run["id"])
    assert {name: items["#INDEX"][name] for name in ANCHORED} == keys  # the anchor took the keys
    assert all(name not in items["#META"] for name in ANCHORED)  # and the run item dropped them
    _assert_listed(client, run, tag, [(run["id"], "PENDING")])  # listed once


def test_a_retried_delete_finishes_what_a_stopped_delete_left(client: httpx.Client, aws_endpoint_url: str) -> None:
    """A delete removes the run item first (every listing drops it at once), then its partition: one that
    stopped in between left the anchor, which an index-only count still counts, until a retried DELETE."""
    run = _scheduled_run(client, f"stopped-delete-{uuid.uuid4().hex[:8]}")
    when = datetime.datetime.fromisoformat(run["expected_start_time"])
    window = {
        "flow_runs": {
            "expected_start_time": {
                "after_": (when - datetime.timedelta(seconds=1)).isoformat(),
                "before_": (when + datetime.timedelta(seconds=1)).isoformat(),
            }
        }
    }
    assert client.post("/flow_runs/count", json=window).json() == 1
    dynamodb = emulator_client("dynamodb", aws_endpoint_url)
    dynamodb.delete_item(TableName=TABLE, Key={"PK": {"S": f"FLOW_RUN#{run['id']}"}, "SK": {"S": "#META"}})
    assert "#INDEX" in _partition(dynamodb, run["id"])
    assert client.post("/flow_runs/count", json=window).json() == 1  # the stopped delete's leftover anchor

    response = client.delete(f"/flow_runs/{run['id']}")
    assert response.status_code == 404, response.text
    assert _partition(dynamodb, run["id"]) == {}
    assert client.post("/flow_runs/count", json=window).json() == 0


def test_window_count_counts_each_run_once_whatever_its_index_entries(
    client: httpx.Client, aws_endpoint_url: str
) -> None:
    """The dashboard's count of an expected-start window is answered by COUNT Queries of the anchors; a run
    listed by its legacy item (stored before anchors), alone or beside its new anchor, is still counted once."""
    tag = uuid.uuid4().hex[:10]
    runs = [_scheduled_run(client, tag) for _ in range(3)]
    starts = sorted(datetime.datetime.fromisoformat(run["expected_start_time"]) for run in runs)
    window = {
        "expected_start_time": {
            "after_": starts[0].isoformat(),
            "before_": starts[-1].isoformat(),
        }
    }

    def counted() -> int:
        response = client.post("/flow_runs/count", json={"flow_runs": window})
        assert response.status_code == 200, response.text
        return int(response.json())

    def listed() -> int:
        # Every run the window holds, by the filter (runs of other tests may share it).
        response = client.post("/flow_runs/filter", json={"flow_runs": window})
        assert response.status_code == 200, response.text
        return len(response.json())

    before = listed()
    assert before >= len(runs)
    assert counted() == before
    dynamodb = emulator_client("dynamodb", aws_endpoint_url)
    legacy, both = runs[0], runs[1]
    items = _partition(dynamodb, legacy["id"])  # stored before anchors: keys on the run item, no anchor
    dynamodb.put_item(TableName=TABLE, Item={**items["#META"], **{n: items["#INDEX"][n] for n in ANCHORED}})
    dynamodb.delete_item(TableName=TABLE, Key={"PK": items["#INDEX"]["PK"], "SK": items["#INDEX"]["SK"]})
    items = _partition(dynamodb, both["id"])  # a legacy item whose anchor is written too: listed twice
    dynamodb.put_item(TableName=TABLE, Item={**items["#META"], **{n: items["#INDEX"][n] for n in ANCHORED}})
    assert counted() == listed() == before
