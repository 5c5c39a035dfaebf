"""POST /logs/ and /logs/filter over HTTP against the local stack."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prefect.client.schemas.objects import Log as ClientLog

from tests.stack_process import StackProcess

BASE = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.UTC)


def _log(
    i: int, flow_run_id: str | None, task_run_id: str | None = None, level: int = 20, **extra: Any
) -> dict[str, Any]:
    return {
        "name": "prefect.flow_runs",
        "level": level,
        "message": f"message {i}",
        "timestamp": (BASE + datetime.timedelta(seconds=i)).isoformat(),
        "flow_run_id": flow_run_id,
        "task_run_id": task_run_id,
        **extra,
    }


def _filter(client: httpx.Client, **body: Any) -> list[dict[str, Any]]:
    response = client.post("/logs/filter", json=body)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def batch(api_url: str) -> dict[str, str]:
    """200 logs of one flow run (levels alternate INFO/ERROR), 20 of them in one task run."""
    flow_run_id, task_run_id = str(uuid.uuid4()), str(uuid.uuid4())
    logs = [_log(i, flow_run_id, task_run_id if i < 20 else None, level=40 if i % 2 else 20) for i in range(200)]
    response = httpx.post(f"{api_url}/logs/", json=logs, timeout=30)
    assert response.status_code == 201, response.text
    assert response.content in (b"", b"null")
    return {"flow_run_id": flow_run_id, "task_run_id": task_run_id}


def test_filter_by_flow_run_returns_all_in_timestamp_order(client: httpx.Client, batch: dict[str, str]) -> None:
    logs = _filter(client, logs={"flow_run_id": {"any_": [batch["flow_run_id"]]}})
    assert len(logs) == 200
    assert [log["message"] for log in logs] == [f"message {i}" for i in range(200)]
    for log in logs:
        parsed = ClientLog.model_validate(log)  # the 3.9.1 client accepts our JSON
        assert str(parsed.flow_run_id) == batch["flow_run_id"]
        assert parsed.created is not None and parsed.id is not None


def test_sort_desc_limit_offset(client: httpx.Client, batch: dict[str, str]) -> None:
    logs = _filter(
        client, logs={"flow_run_id": {"any_": [batch["flow_run_id"]]}}, sort="TIMESTAMP_DESC", limit=10, offset=5
    )
    assert [log["message"] for log in logs] == [f"message {i}" for i in range(194, 184, -1)]


def test_level_filter(client: httpx.Client, batch: dict[str, str]) -> None:
    flt = {"flow_run_id": {"any_": [batch["flow_run_id"]]}, "level": {"ge_": 40}}
    logs = _filter(client, logs=flt)
    assert len(logs) == 100 and all(log["level"] == 40 for log in logs)
    only_info = _filter(client, logs={**flt, "level": {"le_": 20}}, limit=3)
    assert [log["message"] for log in only_info] == ["message 0", "message 2", "message 4"]


def test_time_range_filter(client: httpx.Client, batch: dict[str, str]) -> None:
    after = (BASE + datetime.timedelta(seconds=50)).isoformat()
    before = (BASE + datetime.timedelta(seconds=59)).isoformat()
    logs = _filter(
        client,
        logs={"flow_run_id": {"any_": [batch["flow_run_id"]]}, "timestamp": {"after_": after, "before_": before}},
    )
    assert [log["message"] for log in logs] == [f"message {i}" for i in range(50, 60)]  # both bounds inclusive


def test_filter_by_task_run(client: httpx.Client, batch: dict[str, str]) -> None:
    in_run = {"flow_run_id": {"any_": [batch["flow_run_id"]]}}  # the task run was never created: read in its run
    logs = _filter(client, logs={**in_run, "task_run_id": {"any_": [batch["task_run_id"]]}}, sort="TIMESTAMP_DESC")
    assert [log["message"] for log in logs] == [f"message {i}" for i in range(19, -1, -1)]
    untasked = _filter(
        client, logs={"flow_run_id": {"any_": [batch["flow_run_id"]]}, "task_run_id": {"is_null_": True}}
    )
    assert len(untasked) == 180


def test_all_logs_without_run_filter(client: httpx.Client, batch: dict[str, str]) -> None:
    marker = f"orphan-{uuid.uuid4()}"
    orphan = _log(0, None, message=marker)
    orphan["timestamp"] = (BASE - datetime.timedelta(days=3650)).isoformat()  # oldest log of all
    assert client.post("/logs/", json=[orphan]).status_code == 201
    logs = _filter(client, limit=1)
    assert logs[0]["message"] == marker and logs[0]["flow_run_id"] is None
    text = _filter(client, logs={"text": {"query": marker}})
    assert [log["message"] for log in text] == [marker]
    window = _filter(client, logs={"timestamp": {"after_": BASE.isoformat()}}, limit=200)
    assert len(window) == 200 and all(log["timestamp"] >= "2024-05-01T12:00:00" for log in window)


def test_empty_results_and_limits(client: httpx.Client) -> None:
    assert _filter(client, logs={"flow_run_id": {"any_": [str(uuid.uuid4())]}}) == []
    assert _filter(client, logs={"flow_run_id": {"any_": []}}) == []
    assert _filter(client, limit=0) == []
    assert client.post("/logs/", json=[]).status_code == 201


@pytest.fixture(scope="module")
def big_body_api_url() -> Iterator[str]:
    """A second stack accepting 6 MB bodies (Lambda's payload cap), as a log batch may need."""
    stack = StackProcess(env={"SERVERFLOW_MAX_BODY_BYTES": str(6 * 1024 * 1024)}).start()
    try:
        yield stack.api_url
    finally:
        stack.stop()


def test_large_message_is_truncated_with_marker(big_body_api_url: str) -> None:
    flow_run_id = str(uuid.uuid4())
    message = "z" * 1_000_000  # the client's default PREFECT_LOGGING_TO_API_MAX_LOG_SIZE
    with httpx.Client(base_url=big_body_api_url, timeout=60) as client:
        small = _log(1, flow_run_id, message="small")
        response = client.post("/logs/", json=[_log(0, flow_run_id, message=message), small])
        assert response.status_code == 201, response.text
        big, tail = _filter(client, logs={"flow_run_id": {"any_": [flow_run_id]}})
    assert tail["message"] == "small"
    assert big["message"].startswith("z" * 300_000)
    assert big["message"].endswith("characters removed]") and "message truncated by Serverflow" in big["message"]
    assert len(big["message"].encode()) < 350_000


def test_nul_and_surrogates_are_cleaned(client: httpx.Client) -> None:
    flow_run_id = str(uuid.uuid4())
    body = (
        '[{"name": "x", "level": 20, "message": "a\\u0000b\\ud800c", "timestamp": "2024-01-01T00:00:00Z", "flow_run_id": "%s"}]'
        % flow_run_id
    )
    response = client.post("/logs/", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 201, response.text
    (stored,) = _filter(client, logs={"flow_run_id": {"any_": [flow_run_id]}})
    assert stored["message"].startswith("ab") and stored["message"].endswith("c")


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x"},  # not a list
        [{"name": "x", "level": "high", "message": "m", "timestamp": "2024-01-01T00:00:00Z"}],
        [{"name": "x", "level": 20, "message": "m", "timestamp": "not a time"}],
        [{"name": "x", "level": 20, "message": "m", "timestamp": "2024-01-01T00:00:00Z", "flow_run_id": "nope"}],
        [
            {
                "name": "x",
                "level": 20,
                "message": "m",
                "timestamp": "2024-01-01T00:00:00Z",
                "worker_id": str(uuid.uuid4()),
            }
        ],
        [{"level": 20, "message": "m", "timestamp": "2024-01-01T00:00:00Z"}],
    ],
)
def test_bad_create_bodies_are_422(client: httpx.Client, body: Any) -> None:
    response = client.post("/logs/", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["exception_message"] == "Invalid request received."


@pytest.mark.parametrize(
    "body",
    [
        {"limit": 201},
        {"limit": -1},
        {"offset": -1},
        {"sort": "LEVEL_DESC"},
        {"logs": {"level": {"ge_": "x"}}},
        {"logs": {"unknown": {}}},
        {"logs": {"text": {"query": "x" * 201}}},
    ],
)
def test_bad_filter_bodies_are_422(client: httpx.Client, body: dict[str, Any]) -> None:
    response = client.post("/logs/filter", json=body)
    assert response.status_code == 422, response.text


def test_malformed_and_oversized_bodies_are_4xx(client: httpx.Client) -> None:
    malformed = client.post("/logs/", content=b"[{", headers={"content-type": "application/json"})
    assert malformed.status_code == 422
    # Log batches may be up to 6 MB (Lambda's payload limit), as the client batches up to 4 MB.
    huge = [_log(i, None, message="y" * 70_000) for i in range(100)]  # ~7 MB
    response = client.post("/logs/", json=huge)
    assert 400 <= response.status_code < 500, response.text
