"""A flow-run filter bounded by an expected-start window (what Prefect's UI dashboard sends) reads the
window's key range of the expected-start index; its results and counts are exactly those of matching
every run: compared here with the same filter joined to the runs' flow, which reads the flow's
partition and matches the window in Python."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import httpx

from tests.aws_env import AWS_ENV, emulator_client

TABLE = AWS_ENV["SERVERFLOW_TABLE"]
# Minutes after the window opens (the window is [0, 4] minutes). Ties on both edges, runs a microsecond
# outside each edge, and states of an accumulating family (SCHEDULED) and an in-flight one (RUNNING).
INSIDE = (0, 0, 1, 2, 2, 3, 4, 4)
MICROSECOND = datetime.timedelta(microseconds=1)


def _window_runs(client: httpx.Client) -> tuple[dict[str, Any], datetime.datetime, list[dict[str, Any]]]:
    """A new flow with runs in and around a window of its own (far in the future: no other test's runs)."""
    flow = client.post("/flows/", json={"name": f"window-{uuid.uuid4().hex[:8]}"}).json()
    start = datetime.datetime(2400, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(
        minutes=uuid.uuid4().int % 10**7 * 10
    )
    times = [start + datetime.timedelta(minutes=m) for m in INSIDE]
    times += [start - MICROSECOND, start + datetime.timedelta(minutes=4) + MICROSECOND]
    runs = []
    for i, when in enumerate(times):
        state = {"type": "SCHEDULED", "state_details": {"scheduled_time": when.isoformat()}}
        body = {"flow_id": flow["id"], "name": f"w{i}", "state": state}
        runs.append(client.post("/flow_runs/", json=body).json())
    for run in runs[1:6:2]:  # some in flight: the in-flight state hint (GSI5) serves those
        response = client.post(f"/flow_runs/{run['id']}/set_state", json={"state": {"type": "RUNNING"}, "force": True})
        assert response.json()["status"] == "ACCEPT", response.text
    return flow, start, runs


def _window(start: datetime.datetime) -> dict[str, str]:
    return {"after_": start.isoformat(), "before_": (start + datetime.timedelta(minutes=4)).isoformat()}


def _ids(client: httpx.Client, path: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    return result if isinstance(result, int) else [run["id"] for run in result]


def _unnarrowed(flow_runs: dict[str, Any]) -> dict[str, Any]:
    """The same criteria as an OR with one that matches nothing: no index hint, every run is read and matched."""
    return {"operator": "or_", "expected_start_time": flow_runs["expected_start_time"], "id": {"any_": []}}


def test_windowed_filters_page_exactly_as_matching_every_run(client: httpx.Client) -> None:
    flow, start, runs = _window_runs(client)
    window = _window(start)
    by_flow = {"flows": {"id": {"any_": [flow["id"]]}}}  # the flow's partition, window matched in Python
    # (the criteria, the same answered by reading more runs and matching them in Python)
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for flow_runs in (
        {"operator": "and_", "expected_start_time": window},
        {"expected_start_time": window, "state": {"type": {"any_": ["SCHEDULED"]}}},
        {"expected_start_time": window, "state": {"type": {"any_": ["RUNNING"]}}},
    ):
        cases.append(({"flow_runs": flow_runs}, {"flow_runs": flow_runs, **by_flow}))
    for flow_runs in ({"expected_start_time": {"after_": window["after_"]}}, {"expected_start_time": window}):
        cases.append(({"flow_runs": flow_runs}, {"flow_runs": _unnarrowed(flow_runs)}))
    for body, reference in cases:
        for sort in ("EXPECTED_START_TIME_DESC", "EXPECTED_START_TIME_ASC", "NAME_ASC", "ID_DESC"):
            for offset, limit in ((0, 3), (3, 3), (1, 20)):
                page = {"sort": sort, "offset": offset, "limit": limit}
                expected = _ids(client, "/flow_runs/filter", {**reference, **page})
                assert _ids(client, "/flow_runs/filter", {**body, **page}) == expected, (body, page)
        assert _ids(client, "/flow_runs/count", body) == _ids(client, "/flow_runs/count", reference), body
    inside = {run["id"] for run in runs[: len(INSIDE)]}
    assert set(_ids(client, "/flow_runs/filter", {"flow_runs": {"expected_start_time": window}})) == inside
    assert _ids(client, "/flow_runs/count", {"flow_runs": {"expected_start_time": window}}) == len(INSIDE)


def test_an_or_of_the_window_and_another_criterion_is_not_narrowed_to_the_window(client: httpx.Client) -> None:
    flow, start, runs = _window_runs(client)
    outside = runs[-1]
    flow_runs = {"operator": "or_", "expected_start_time": _window(start), "name": {"any_": [outside["name"]]}}
    body = {"flow_runs": flow_runs, "flows": {"id": {"any_": [flow["id"]]}}}
    assert set(_ids(client, "/flow_runs/filter", body)) == {run["id"] for run in runs[: len(INSIDE)]} | {outside["id"]}
    # Without the flow join the OR reads every run (the other tests' runs named like it match too).
    assert outside["id"] in _ids(client, "/flow_runs/filter", {"flow_runs": flow_runs, "limit": 200})
    assert _ids(client, "/flow_runs/count", {"flow_runs": flow_runs}) >= len(INSIDE) + 1


def test_counts_on_the_index_count_a_run_listed_twice_once(client: httpx.Client, aws_endpoint_url: str) -> None:
    _, start, runs = _window_runs(client)
    window = {"flow_runs": {"expected_start_time": _window(start)}}
    # A run stored before anchors whose next write has given it an anchor already: while the index
    # still lists its old item too, it is one run.
    dynamodb = emulator_client("dynamodb", aws_endpoint_url)
    pk = {"S": f"FLOW_RUN#{runs[0]['id']}"}
    anchor = dynamodb.get_item(TableName=TABLE, Key={"PK": pk, "SK": {"S": "#INDEX"}}, ConsistentRead=True)["Item"]
    item = dynamodb.get_item(TableName=TABLE, Key={"PK": pk, "SK": {"S": "#META"}}, ConsistentRead=True)["Item"]
    keys = {name: value for name, value in anchor.items() if name.startswith("GSI")}
    dynamodb.put_item(TableName=TABLE, Item={**item, **keys})
    assert _ids(client, "/flow_runs/count", window) == len(INSIDE)
    assert sorted(_ids(client, "/flow_runs/filter", window)) == sorted(run["id"] for run in runs[: len(INSIDE)])
    # Every run, counted on the all-runs index, is what matching every run counts (an empty
    # sub-filter is a criterion the index does not imply: that count reads the runs).
    assert _ids(client, "/flow_runs/count", {}) == _ids(
        client, "/flow_runs/count", {"flow_runs": {"expected_start_time": {}}}
    )
    # A window no run can be in.
    backwards = {"after_": _window(start)["before_"], "before_": _window(start)["after_"]}
    assert _ids(client, "/flow_runs/count", {"flow_runs": {"expected_start_time": backwards}}) == 0
    assert _ids(client, "/flow_runs/filter", {"flow_runs": {"expected_start_time": backwards}}) == []


def test_a_window_bound_before_year_1000_compares_as_a_time(client: httpx.Client) -> None:
    # Years below 1000 are valid bounds (the reference compares datetimes); read as a key range they must
    # still sort before year 2400, or a window opening in year 999 would hold no run and one closing there all.
    _, start, runs = _window_runs(client)
    early = "0999-01-01T00:00:00+00:00"
    up_to_the_window = {"expected_start_time": {"after_": early, "before_": _window(start)["before_"]}}
    assert _ids(client, "/flow_runs/count", {"flow_runs": up_to_the_window}) >= len(INSIDE) + 1
    assert runs[0]["id"] in _ids(
        client, "/flow_runs/filter", {"flow_runs": up_to_the_window, "sort": "EXPECTED_START_TIME_DESC", "limit": 50}
    )
    before_year_1000 = {"flow_runs": {"expected_start_time": {"before_": early}}}
    assert _ids(client, "/flow_runs/count", before_year_1000) == 0
    assert _ids(client, "/flow_runs/filter", before_year_1000) == []
