"""GET /flow_runs/{id}/logs/download over HTTP: the run's logs as CSV, oldest first."""

from __future__ import annotations

import csv
import io
import uuid

import httpx

from tests.support.api import make_flow, make_run


def test_download_is_csv_of_the_runs_logs_in_time_order(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"], name="my run/ü")
    other = make_run(client, make_flow(client)["id"])
    task_run_id = str(uuid.uuid4())
    logs = [
        {
            "name": "a",
            "level": 40,
            "message": "second",
            "timestamp": "2026-01-01T00:00:01.5Z",
            "flow_run_id": run["id"],
            "task_run_id": task_run_id,
        },
        {
            "name": "a",
            "level": 20,
            "message": 'hello, "world"\nline2',
            "timestamp": "2026-01-01T00:00:00Z",
            "flow_run_id": run["id"],
        },
        {
            "name": "a",
            "level": 20,
            "message": "not mine",
            "timestamp": "2026-01-01T00:00:00Z",
            "flow_run_id": other["id"],
        },
    ]
    assert client.post("/logs/", json=logs).status_code == 201
    response = client.get(f"/flow_runs/{run['id']}/logs/download")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"flow-run-logs.csv\"; filename*=UTF-8''my%20run%2F%C3%BC-logs.csv"
    )
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows == [
        ["timestamp", "level", "flow_run_id", "task_run_id", "message"],
        ["2026-01-01 00:00:00+00:00", "20", run["id"], "", 'hello, "world"\nline2'],
        ["2026-01-01 00:00:01.500000+00:00", "40", run["id"], task_run_id, "second"],
    ]


def test_download_of_a_run_without_logs_and_of_a_missing_run(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"])
    assert (
        client.get(f"/flow_runs/{run['id']}/logs/download").text
        == "timestamp,level,flow_run_id,task_run_id,message\r\n"
    )
    missing = client.get(f"/flow_runs/{uuid.uuid4()}/logs/download")
    assert missing.status_code == 404 and missing.json() == {"detail": "Flow run not found"}
    assert client.get("/flow_runs/not-a-uuid/logs/download").status_code == 404
