"""Odd input that used to reach a 500: each case is now a Prefect-shaped 4xx with a detail.

Found by schemathesis (not-a-server-error) and by hand against the local stack; one test per bug.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import httpx
import pytest

from tests.support.api import assert_422_detail, make_flow, make_run
from tests.support.events import fed

JSON = {"content-type": "application/json"}


# A datetime whose UTC instant is before year 1 or after year 9999: sort keys and bucket math
# convert to UTC, which raised OverflowError.
OUT_OF_RANGE_DATETIMES = ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"]


@pytest.mark.parametrize("moment", OUT_OF_RANGE_DATETIMES)
def test_datetime_out_of_range_in_utc_is_422(client: httpx.Client, moment: str) -> None:
    flow = make_flow(client)
    run = make_run(client, flow["id"])
    pool = client.post("/work_pools/", json={"name": f"bad-input-{uuid.uuid4().hex[:8]}", "type": "process"}).json()
    queue = client.post("/work_queues/", json={"name": f"bad-input-{uuid.uuid4().hex[:8]}"}).json()
    scheduled = {"type": "SCHEDULED", "state_details": {"scheduled_time": moment}}
    cases = [
        ("/flow_runs/", {"flow_id": flow["id"], "state": scheduled}),
        (f"/flow_runs/{run['id']}/set_state", {"state": scheduled, "force": True}),
        ("/logs/", [{"name": "x", "level": 20, "message": "m", "timestamp": moment, "flow_run_id": run["id"]}]),
        ("/logs/filter", {"logs": {"timestamp": {"before_": moment}}}),
        ("/events/filter", {"filter": {"occurred": {"since": "2020-01-01T00:00:00Z", "until": moment}}}),
        (f"/work_pools/{pool['name']}/get_scheduled_flow_runs", {"scheduled_before": moment}),
        (f"/work_queues/{queue['id']}/get_runs", {"scheduled_before": moment}),
        ("/deployments/get_scheduled_flow_runs", {"deployment_ids": [], "scheduled_before": moment}),
        ("/flow_runs/history", {"history_start": moment, "history_end": moment, "history_interval_seconds": 60}),
    ]
    for path, body in cases:
        response = client.post(path, json=body)
        assert response.status_code == 422, (path, response.text)
        assert_422_detail(response, "out of range once converted to UTC")
    # Nothing was written by the rejected requests.
    assert client.get(f"/flow_runs/{run['id']}").json()["state"]["id"] == run["state"]["id"]


@pytest.mark.parametrize("interval", [6.6e16, 1e300, "NaN", "Infinity"])
def test_history_interval_too_large_or_not_finite_is_422(client: httpx.Client, interval: Any) -> None:
    # timedelta(seconds=...) raised OverflowError/ValueError for these.
    body = {
        "history_start": "2024-01-01T00:00:00Z",
        "history_end": "2024-01-02T00:00:00Z",
        "history_interval_seconds": interval,
    }
    assert_422_detail(
        client.post("/flow_runs/history", json=body), "History interval must be a finite number of seconds"
    )


def test_history_buckets_past_year_9999_are_422(client: httpx.Client) -> None:
    # One bucket of ~31 years starting in 9999 ends past datetime.max.
    body = {
        "history_start": "9999-12-01T00:00:00Z",
        "history_end": "9999-12-31T00:00:00Z",
        "history_interval_seconds": 1e9,
    }
    assert_422_detail(client.post("/flow_runs/history", json=body), "latest supported datetime")
    ok = {**body, "history_interval_seconds": 86400}
    assert client.post("/flow_runs/history", json=ok).status_code == 200


@pytest.mark.parametrize("interval", [9.2e307, 1e12, "Infinity"])
def test_event_count_interval_too_large_is_422(client: httpx.Client, interval: Any) -> None:
    # TimeUnit.as_timedelta overflowed (OverflowError) before the bucket count was checked.
    body = {
        "filter": {"occurred": {"since": "2024-01-01T00:00:00Z", "until": "2024-01-02T00:00:00Z"}},
        "time_unit": "hour",
        "time_interval": interval,
    }
    assert_422_detail(client.post("/events/count-by/event", json=body), "The interval is too large")


def test_event_count_buckets_before_year_1_are_422(client: httpx.Client) -> None:
    # Buckets align to a 2024 pivot: the first 1000-week bucket covering 0001-01-01 starts before year 1.
    body = {
        "filter": {"occurred": {"since": "0001-01-01T00:00:00Z", "until": "2030-01-01T00:00:00Z"}},
        "time_unit": "week",
        "time_interval": 1000,
    }
    assert_422_detail(client.post("/events/count-by/time", json=body), "outside the supported datetimes")


def test_worker_heartbeat_interval_out_of_range_is_422(client: httpx.Client) -> None:
    # last_heartbeat_time + 3 * interval overflowed datetime (OverflowError) when the worker was stored.
    pool = client.post("/work_pools/", json={"name": f"bad-input-{uuid.uuid4().hex[:8]}", "type": "process"}).json()
    path = f"/work_pools/{pool['name']}/workers/heartbeat"
    body = assert_422_detail(client.post(path, json={"name": "w", "heartbeat_interval_seconds": 253402300800}))
    assert body["exception_detail"][0]["loc"][-1] == "heartbeat_interval_seconds"
    assert client.post(f"/work_pools/{pool['name']}/workers/filter", json={}).json() == []
    assert client.post(path, json={"name": "w", "heartbeat_interval_seconds": 30}).status_code == 204


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/flows/", b"NaN"),
        ("/flows/", b'{"name": "f", "x": NaN}'),
        ("/flows/filter", b'{"offset": 1e400}'),
        ("/flow_runs/history", b'{"history_start": NaN}'),
    ],
)
def test_validation_error_echoing_nan_or_infinity_is_422(client: httpx.Client, path: str, raw: bytes) -> None:
    # Python's json reads NaN/Infinity/1e400; echoing them in the 422 body made JSONResponse raise (a 500).
    response = client.post(path, content=raw, headers=JSON)
    body = assert_422_detail(response)
    assert body["exception_message"] == "Invalid request received."


def test_names_and_keys_past_dynamodb_key_limits_are_422(client: httpx.Client) -> None:
    # Names and artifact keys are parts of DynamoDB keys (2048/1024 bytes): past them the write was a 500.
    long = "x" * 3000
    cases = [
        ("/flows/", {"name": long}),
        ("/work_pools/", {"name": long, "type": "process"}),
        ("/work_queues/", {"name": long}),
        ("/artifacts/", {"key": long, "data": 1}),
    ]
    for path, body in cases:
        response = client.post(path, json=body)
        assert response.status_code == 422, (path, response.text)
        assert "too long to store" in response.json()["detail"], (path, response.text)
    # Nothing half-written: reads by those names find nothing.
    assert client.get(f"/flows/name/{long}").status_code == 404
    assert client.post("/flows/filter", json={"flows": {"name": {"any_": [long]}}}).json() == []


def test_create_flow_run_against_an_invalid_stored_parameter_schema_is_409(client: httpx.Client) -> None:
    # jsonschema.SchemaError escaped parameter validation (a 500) when the deployment's schema is not JSON Schema.
    flow = make_flow(client)
    deployment = client.post("/deployments/", json={"name": "bad-schema", "flow_id": flow["id"]}).json()
    patched = client.patch(f"/deployments/{deployment['id']}", json={"parameter_openapi_schema": {"type": "nope"}})
    assert patched.status_code == 204, patched.text
    response = client.post(f"/deployments/{deployment['id']}/create_flow_run", json={"parameters": {"x": 1}})
    assert response.status_code == 409, response.text
    assert "Invalid schema" in response.json()["detail"]


def test_log_filter_offset_past_sys_maxsize_is_an_empty_page(client: httpx.Client) -> None:
    # islice() refused a stop past sys.maxsize (ValueError, a 500); the reference has no upper bound on offset.
    response = client.post("/logs/filter", json={"offset": 65877386483954905138593792, "limit": 5})
    assert response.status_code == 200, response.text
    assert response.json() == []
    assert_422_detail(client.post("/logs/filter", json={"offset": -1}), "greater than or equal to 0")


def test_event_filter_with_an_empty_name_prefix_matches_everything(client: httpx.Client) -> None:
    # begins_with(GSI3SK, "") is a DynamoDB ValidationException (a 500); "" prefixes every name.
    name = f"bad.input.{uuid.uuid4().hex[:8]}"
    # A moment of its own, so the first page of the window holds it whatever else the shared stack stored.
    occurred = datetime.datetime.now(datetime.UTC) - datetime.timedelta(
        minutes=40, microseconds=uuid.uuid4().int % 10**6
    )
    event = {
        "id": str(uuid.uuid4()),
        "occurred": occurred.isoformat(),
        "event": name,
        "resource": {"prefect.resource.id": "a.b"},
    }
    assert client.post("/events", json=[event]).status_code == 204
    fed(client)  # "" prefixes every name: read by time
    ms = datetime.timedelta(milliseconds=1)
    window = {"since": (occurred - ms).isoformat(), "until": (occurred + ms).isoformat()}
    body = {"filter": {"occurred": window, "event": {"prefix": ["", "h"]}}}
    response = client.post("/events/filter", json=body)
    assert response.status_code == 200, response.text
    assert event["id"] in [e["id"] for e in response.json()["events"]]
    count = client.post("/events/count-by/event", json=body)
    assert count.status_code == 200, count.text


def test_event_filter_with_a_far_future_until_answers_promptly(client: httpx.Client) -> None:
    # Events are stored per day; the query reads days only up to a day past now.
    body = {"filter": {"occurred": {"since": "2026-01-01T00:00:00Z", "until": "9999-12-31T23:59:59Z"}}, "limit": 5}
    response = client.post("/events/filter", json=body, timeout=30)
    assert response.status_code == 200, response.text
    assert set(response.json()) >= {"events", "total", "next_page"}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_json_constants_are_422_not_stored_as_null(client: httpx.Client, constant: str) -> None:
    flow = client.post("/flows/", json={"name": f"nan-{uuid.uuid4().hex[:8]}"}).json()
    body = '{"flow_id": "%s", "parameters": {"x": %s}}' % (flow["id"], constant)
    response = client.post("/flow_runs/", content=body.encode(), headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert "not valid JSON" in response.json()["exception_detail"][0]["msg"]
    # A string that merely contains the word is fine.
    ok = client.post("/flow_runs/", json={"flow_id": flow["id"], "parameters": {"x": "NaN and Infinity"}})
    assert ok.status_code == 201 and ok.json()["parameters"] == {"x": "NaN and Infinity"}


def test_a_time_window_closing_before_it_opens_matches_nothing(client: httpx.Client) -> None:
    # The reference answers []. Read as a key range its bounds are reversed, which DynamoDB refuses with a
    # ValidationException (a 500 on AWS; the local emulator refuses it too now).
    opens, closes = "2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"
    window = {"after_": opens, "before_": closes}
    pool = client.post("/work_pools/", json={"name": f"reversed-{uuid.uuid4().hex[:8]}", "type": "process"}).json()
    for path, body in (
        ("/logs/filter", {"logs": {"timestamp": window}, "sort": "TIMESTAMP_DESC"}),
        ("/logs/filter", {"logs": {"timestamp": window, "flow_run_id": {"any_": [str(uuid.uuid4())]}}}),
        ("/task_runs/filter", {"task_runs": {"start_time": window}}),
        (f"/work_pools/{pool['name']}/get_scheduled_flow_runs", {"scheduled_after": opens, "scheduled_before": closes}),
    ):
        response = client.post(path, json=body)
        assert response.status_code == 200, (path, response.text)
        assert response.json() == [], path
