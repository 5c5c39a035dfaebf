"""Logs stored as groups (the lines of one POST sharing a flow run and a task run are one item) read back
exactly as single-line items did, over HTTP against the local stack."""

from __future__ import annotations

import datetime
import json
import random
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.aws_env import AWS_ENV, emulator_client, stack_aws_env

# A time no other test logs at (after test_logs.py's oldest): reads without a run filter see only these lines there.
BASE = datetime.datetime(2019, 3, 7, 11, 0, tzinfo=datetime.UTC)
GROUP_WINDOW_S = 10  # shared/storage/log_groups.WINDOW

Line = dict[str, Any]


def _at(seconds: float) -> str:
    return _when_at(seconds).isoformat()


def _when_at(seconds: float) -> datetime.datetime:
    return BASE + datetime.timedelta(seconds=seconds)


def _when(log: Line) -> datetime.datetime:
    return datetime.datetime.fromisoformat(log["timestamp"])


def _filter(client: httpx.Client, **body: Any) -> list[Line]:
    response = client.post("/logs/filter", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _post(client: httpx.Client, logs: list[Line]) -> None:
    response = client.post("/logs/", json=logs)
    assert response.status_code == 201, response.text


def _sortable(seconds: float) -> str:
    return _when_at(seconds).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _put_indexed_before_the_feed(
    aws_endpoint_url: str, flow_run_id: str, sk: str, entity: str, body: dict[str, Any], shard: int
) -> None:
    """A log item as written before the all-logs feed: in its flow run's partition, indexed on GSI2 by time."""
    emulator_client("dynamodb", aws_endpoint_url).put_item(
        TableName=AWS_ENV["SERVERFLOW_TABLE"],
        Item={
            "PK": {"S": f"LOGS_FR#{flow_run_id}"},
            "SK": {"S": sk},
            "entity": {"S": entity},
            "body": {"S": json.dumps(body)},  # the oldest format: a String body
            "GSI2PK": {"S": f"LOGS#{shard}"},
            "GSI2SK": {"S": sk},
            "expires_at": {"N": str(int(datetime.datetime.now(datetime.UTC).timestamp()) + 3600)},
        },
    )


def _reference_order(logs: list[Line], descending: bool) -> list[Line]:
    """The reference's ORDER BY timestamp (asc or desc), id DESC."""
    by_id = sorted(logs, key=lambda log: log["id"], reverse=True)
    return sorted(by_id, key=_when, reverse=descending)


@pytest.fixture(scope="module")
def batch(api_url: str) -> dict[str, Any]:
    """60 lines in one POST, shuffled: a third in each of two task runs, a third at flow level; pairs share a
    timestamp (the id breaks the tie) and they span 26.5 s, so each (flow run, task run) makes several groups."""
    flow_run_id, task_a, task_b = (str(uuid.uuid4()) for _ in range(3))
    logs = [
        {
            "name": "prefect.task_runs" if i % 3 else "prefect.flow_runs",
            "level": 40 if i % 4 == 0 else 20,
            "message": f"line {i}" + (" needle" if i % 5 == 0 else ""),
            "timestamp": _at(i // 2 * 0.9),
            "flow_run_id": flow_run_id,
            "task_run_id": (None, task_a, task_b)[i % 3],
        }
        for i in range(60)
    ]
    random.Random(13).shuffle(logs)
    with httpx.Client(base_url=api_url, timeout=30) as client:
        _post(client, logs)
        stored = _filter(client, logs={"flow_run_id": {"any_": [flow_run_id]}})
    return {"flow_run_id": flow_run_id, "task_a": task_a, "task_b": task_b, "stored": stored}


def test_a_batch_reads_back_whole_in_the_reference_order(batch: dict[str, Any]) -> None:
    stored = batch["stored"]
    assert sorted(log["message"] for log in stored) == sorted(
        f"line {i}" + (" needle" if i % 5 == 0 else "") for i in range(60)
    )
    assert stored == _reference_order(stored, descending=False)
    assert len({log["id"] for log in stored}) == 60


def test_every_filter_sort_and_page_reads_what_single_lines_did(client: httpx.Client, batch: dict[str, Any]) -> None:
    """Each filter the old per-line layout served, both sorts, pages with offsets: exactly the lines expected."""
    stored, fr, task_a, task_b = batch["stored"], batch["flow_run_id"], batch["task_a"], batch["task_b"]
    in_run = {"flow_run_id": {"any_": [fr]}}
    mid = _when_at(12.6)  # inside a group: its first line is earlier
    end = _when_at(18.9)

    cases: list[tuple[dict[str, Any], Callable[[Line], bool]]] = [
        (in_run, lambda log: True),
        # (These task runs were never created: by task run alone they are read in test_log_groups_by_task_run.)
        ({**in_run, "task_run_id": {"any_": [task_a]}}, lambda log: log["task_run_id"] == task_a),
        ({**in_run, "task_run_id": {"any_": [task_a, task_b]}}, lambda log: log["task_run_id"] is not None),
        ({**in_run, "task_run_id": {"is_null_": True}}, lambda log: log["task_run_id"] is None),
        ({**in_run, "task_run_id": {"is_null_": False}}, lambda log: log["task_run_id"] is not None),
        ({**in_run, "level": {"ge_": 40}}, lambda log: log["level"] >= 40),
        ({**in_run, "text": {"query": "needle"}}, lambda log: "needle" in log["message"]),
        ({"flow_run_id": {"any_": [fr, str(uuid.uuid4())]}}, lambda log: True),
        # A time range with and without a run: the all-logs index across its shards.
        ({**in_run, "timestamp": {"after_": mid.isoformat()}}, lambda log: _when(log) >= mid),
        (
            {"timestamp": {"after_": mid.isoformat(), "before_": end.isoformat()}},
            lambda log: mid <= _when(log) <= end,
        ),
        (
            {**in_run, "task_run_id": {"any_": [task_b]}, "timestamp": {"before_": mid.isoformat()}},
            lambda log: log["task_run_id"] == task_b and _when(log) <= mid,
        ),
    ]
    for flt, keep in cases:
        for sort in ("TIMESTAMP_ASC", "TIMESTAMP_DESC"):
            expected = [log["id"] for log in _reference_order(stored, sort == "TIMESTAMP_DESC") if keep(log)]
            assert expected, flt
            for offset, limit in ((0, 200), (0, 1), (3, 7), (len(expected) - 2, 5)):
                got = _filter(client, logs=flt, sort=sort, offset=offset, limit=limit)
                assert [log["id"] for log in got] == expected[offset : offset + limit], (flt, sort, offset, limit)


def test_every_post_stores_its_lines_as_the_reference(client: httpx.Client) -> None:
    """Identical lines are separate logs, within one request and across requests (a client's retry too): the
    reference gives every stored log its own id, and dropping one as a copy would lose an acknowledged line."""
    flow_run_id = str(uuid.uuid4())
    logs = [
        {
            "name": "n",
            "level": 20,
            "message": "same" if i < 2 else f"m{i}",
            "timestamp": _at(100),
            "flow_run_id": flow_run_id,
        }
        for i in range(6)
    ]
    _post(client, logs)
    first = _filter(client, logs={"flow_run_id": {"any_": [flow_run_id]}})
    _post(client, logs)
    again = _filter(client, logs={"flow_run_id": {"any_": [flow_run_id]}})
    assert len(first) == 6 and [log["message"] for log in first].count("same") == 2
    assert len(again) == 12 and [log["message"] for log in again].count("same") == 4
    assert len({log["id"] for log in again}) == 12
    assert {log["id"] for log in first} <= {log["id"] for log in again}
    desc = _filter(client, logs={"flow_run_id": {"any_": [flow_run_id]}}, sort="TIMESTAMP_DESC")
    assert [log["id"] for log in desc] == [log["id"] for log in _reference_order(again, descending=True)]


def test_a_group_spanning_a_time_bound_is_found_by_a_range_read(client: httpx.Client) -> None:
    """A group is keyed by its first line: a read from a later `after_` still finds its later lines."""
    flow_run_id = str(uuid.uuid4())
    seconds = [200, 200 + GROUP_WINDOW_S * 0.4, 200 + GROUP_WINDOW_S * 0.9]
    _post(
        client,
        [
            {"name": "n", "level": 20, "message": f"at {s}", "timestamp": _at(s), "flow_run_id": flow_run_id}
            for s in seconds
        ],
    )

    def messages(**bounds: str) -> list[str]:
        flt = {"flow_run_id": {"any_": [flow_run_id]}, "timestamp": bounds}
        return [log["message"] for log in _filter(client, logs=flt)]

    assert messages(after_="0001-01-01T00:00:01+00:00") == [f"at {s}" for s in seconds]  # no earlier key
    assert messages(after_=_at(seconds[1])) == [f"at {seconds[1]}", f"at {seconds[2]}"]
    assert messages(after_=_at(seconds[2] - 0.001)) == [f"at {seconds[2]}"]
    assert messages(before_=_at(seconds[1] - 0.001)) == [f"at {seconds[0]}"]
    assert messages(after_=_at(seconds[0] + 0.001), before_=_at(seconds[2] - 0.001)) == [f"at {seconds[1]}"]


def test_a_single_line_item_written_before_groups_still_reads_back(client: httpx.Client, aws_endpoint_url: str) -> None:
    """Items of one line each (entity `log`, SK <ts>#<id>, the Log as body) and groups indexed on GSI2 (written
    before the all-logs feed) read back among new groups, by run and by time."""
    flow_run_id, old_id = str(uuid.uuid4()), str(uuid.uuid4())
    _post(
        client,
        [
            {"name": "n", "level": 20, "message": f"new {s}", "timestamp": _at(300 + s), "flow_run_id": flow_run_id}
            for s in (0, 2)
        ],
    )
    old = {
        "id": old_id,
        "created": _at(301),
        "updated": _at(301),
        "name": "n",
        "level": 30,
        "message": "old",
        "timestamp": _at(301),
        "flow_run_id": flow_run_id,
        "task_run_id": None,
    }
    _put_indexed_before_the_feed(aws_endpoint_url, flow_run_id, f"{_sortable(301)}#{old_id}", "log", old, shard=0)
    # A group written before the feed: indexed on GSI2 (all logs by time), no feed entry.
    group_id = str(uuid.uuid4())
    group = {
        "flow_run_id": flow_run_id,
        "task_run_id": None,
        "created": _at(303),
        "lines": [{"id": group_id, "name": "n", "level": 20, "message": "old group", "timestamp": _at(303)}],
    }
    _put_indexed_before_the_feed(
        aws_endpoint_url, flow_run_id, f"{_sortable(303)}#{group_id}#0", "log_group", group, shard=7
    )
    assert [log["message"] for log in _filter(client, logs={"timestamp": {"after_": _at(299)}}, limit=4)] == [
        "new 0",
        "old",
        "new 2",
        "old group",
    ]
    assert [
        log["message"]
        for log in _filter(client, logs={"timestamp": {"before_": _at(304)}}, sort="TIMESTAMP_DESC", limit=3)
    ] == [
        "old group",
        "new 2",
        "old",
    ]
    run = {"flow_run_id": {"any_": [flow_run_id]}}
    assert [log["message"] for log in _filter(client, logs=run)] == ["new 0", "old", "new 2", "old group"]
    assert [log["message"] for log in _filter(client, logs=run, sort="TIMESTAMP_DESC", limit=2)] == [
        "old group",
        "new 2",
    ]
    assert [log["id"] for log in _filter(client, logs={**run, "level": {"ge_": 30}})] == [old_id]
    window = {"timestamp": {"after_": _at(300.5), "before_": _at(301.5)}}
    assert [log["message"] for log in _filter(client, logs=window)] == ["old"]


def test_the_all_logs_feed_reads_every_request_in_order_and_each_line_once(client: httpx.Client) -> None:
    """Reads without a run filter go through the feed pages (one per request and minute): lines of several
    requests over three minutes, with and without a flow run, read back in the reference order in both sorts
    and every page of offset/limit, each stored line once (a request posted again: its lines once more)."""
    runs = [str(uuid.uuid4()) for _ in range(3)]
    task_only = str(uuid.uuid4())  # lines with a task run and no flow run: their groups have their own partitions
    requests: list[list[Line]] = []
    for r in range(6):
        requests.append(
            [
                {
                    "name": "n",
                    "level": 40 if (r + i) % 3 == 0 else 20,
                    "message": f"request {r} line {i}",
                    # 600..~760 s: three minutes (11:10-11:12), requests interleaved in time; pairs share a timestamp.
                    "timestamp": _at(600 + (r * 7 + i // 2 * 13) % 160),
                    "flow_run_id": runs[r % 3] if r != 5 else None,
                    "task_run_id": task_only if r == 5 else None,
                }
                for i in range(8)
            ]
        )
    for logs in requests:
        _post(client, logs)
    stored = [line for fr in runs for line in _filter(client, logs={"flow_run_id": {"any_": [fr]}})]
    stored += _filter(client, logs={"task_run_id": {"any_": [task_only]}})
    assert len(stored) == 48
    window = {"timestamp": {"after_": _at(600), "before_": _at(760)}}
    for flt, keep in (
        (window, lambda log: True),
        ({**window, "level": {"ge_": 40}}, lambda log: log["level"] >= 40),
    ):
        for sort in ("TIMESTAMP_ASC", "TIMESTAMP_DESC"):
            expected = [log["id"] for log in _reference_order(stored, sort == "TIMESTAMP_DESC") if keep(log)]
            for offset, limit in ((0, 200), (0, 1), (5, 7), (len(expected) - 3, 10)):
                got = _filter(client, logs=flt, sort=sort, offset=offset, limit=limit)
                assert [log["id"] for log in got] == expected[offset : offset + limit], (flt, sort, offset, limit)

    everything = {log["id"] for log in _filter(client, logs=window)}
    _post(client, requests[0])  # the same lines again: stored again, as the reference does
    again = [log["id"] for log in _filter(client, logs=window)]
    assert len(again) == len(set(again)) == len(everything) + 8 and everything <= set(again)


def test_items_indexed_on_gsi2_are_read_until_the_legacy_marker_says_they_expired(
    client: httpx.Client, aws_endpoint_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first all-logs read writes LOG_FEED/LEGACY_UNTIL (now + the log retention); until then reads merge
    the GSI2 items in, after it they read the feed alone (here in this process, on the stack's table)."""
    from shared.schemas.filters.logs import LogFilter
    from shared.storage import log_feed, logs, store

    flow_run_id, old_id = str(uuid.uuid4()), str(uuid.uuid4())
    _post(client, [{"name": "n", "level": 20, "message": "new", "timestamp": _at(400), "flow_run_id": flow_run_id}])
    old = {"id": old_id, "created": _at(401), "updated": _at(401), "name": "n", "level": 20, "message": "old"}
    old |= {"timestamp": _at(401), "flow_run_id": flow_run_id, "task_run_id": None}
    _put_indexed_before_the_feed(aws_endpoint_url, flow_run_id, f"{_sortable(401)}#{old_id}", "log", old, shard=3)
    window = LogFilter.model_validate({"timestamp": {"after_": _at(399), "before_": _at(402)}})
    with stack_aws_env(aws_endpoint_url):
        monkeypatch.setattr(log_feed, "_cached_legacy_until", None)
        store.delete_key(*log_feed.LEGACY_MARKER)  # as on a table the feed never served
        read_at = datetime.datetime.now(datetime.UTC)
        assert [log.message for log in logs.read_logs(window, 0, 10)] == ["new", "old"]
        marker = store.get(*log_feed.LEGACY_MARKER)
        assert marker is not None and marker.body
        until = datetime.datetime.fromtimestamp(json.loads(marker.body)["legacy_until"], datetime.UTC)
        assert abs(until - (read_at + logs.retention())) < datetime.timedelta(minutes=1)

        monkeypatch.setattr(log_feed, "_cached_legacy_until", int(read_at.timestamp()) - 1)  # retention passed
        assert [log.message for log in logs.read_logs(window, 0, 10)] == ["new"]
