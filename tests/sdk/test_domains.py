"""The SDK's variables, blocks (Secret, JSON), v2 concurrency with leases, tag limits and events, through the
API of the local stack, read back over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from serverflow import flow, task, variables
from serverflow.blocks import JSON, Secret
from serverflow.concurrency import concurrency
from serverflow.events import emit_event

from .conftest import wait_until

pytestmark = pytest.mark.timeout(180)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The largest number of intervals open at one instant."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    current = peak = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def test_variables_set_get_overwrite_unset(sdk_env: str, api: httpx.Client) -> None:
    name = unique("sdk_var").replace("-", "_")
    assert variables.get(name) is None
    assert variables.get(name, default=7) == 7
    assert variables.set(name, {"host": "db", "port": 5432}, tags=["sdk"]) == {"host": "db", "port": 5432}
    assert variables.get(name) == {"host": "db", "port": 5432}
    with pytest.raises(ValueError, match="already exists"):
        variables.set(name, 1)
    variables.set(name, [1, 2], overwrite=True)
    stored = api.get(f"/variables/name/{name}").json()
    assert stored["value"] == [1, 2] and stored["tags"] == ["sdk"]
    assert name in [v["name"] for v in variables.ls()]
    assert variables.unset(name) is True
    assert variables.unset(name) is False
    assert api.get(f"/variables/name/{name}").status_code == 404


def test_variable_read_inside_a_flow(sdk_env: str) -> None:
    name = unique("sdk_flow_var").replace("-", "_")
    variables.set(name, "from-the-api")

    @flow
    def reads() -> str:
        return variables.get(name)

    assert reads() == "from-the-api"


def test_secret_is_masked_by_the_api_and_revealed_by_load(sdk_env: str, api: httpx.Client) -> None:
    name = unique("sdk-secret")
    document_id = Secret(value="s3cr3t").save(name)
    masked = api.get(f"/block_documents/{document_id}").json()
    assert masked["data"]["value"] != "s3cr3t"
    assert (
        api.get(f"/block_documents/{document_id}", params={"include_secrets": "true"}).json()["data"]["value"]
        == "s3cr3t"
    )
    assert Secret.load(name).get() == "s3cr3t"
    with pytest.raises(ValueError, match="already exists"):
        Secret(value="other").save(name)
    Secret(value="rotated").save(name, overwrite=True)
    assert Secret.load(name).get() == "rotated"
    assert "rotated" not in repr(Secret.load(name))
    assert Secret.delete(name) is True
    assert Secret.delete(name) is False


def test_json_block_round_trip_registers_its_type(sdk_env: str, api: httpx.Client) -> None:
    name = unique("sdk-json")
    JSON(value={"a": [1, 2, {"b": None}]}).save(name)
    assert JSON.load(name).value == {"a": [1, 2, {"b": None}]}
    assert api.get("/block_types/slug/json").status_code == 200


def _write_limited_flow(directory: Path, limit_name: str, marks: Path) -> Path:
    script = directory / "limited.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import json, sys, time
            from serverflow import flow
            from serverflow.concurrency import concurrency

            @flow
            def limited(i: int) -> int:
                with concurrency({limit_name!r}, occupy=1, lease_duration=60):
                    start = time.time()
                    time.sleep(0.6)
                    end = time.time()
                with open({str(marks)!r}, "a") as handle:
                    handle.write(json.dumps([start, end]) + "\\n")
                return i

            limited(int(sys.argv[1]))
            """
        )
    )
    return script


def test_global_concurrency_with_leases_across_10_flow_processes(
    sdk_env: str, api: httpx.Client, tmp_path: Path
) -> None:
    limit_name = unique("sdk-db")
    created = api.post("/v2/concurrency_limits/", json={"name": limit_name, "limit": 2})
    assert created.status_code == 201, created.text
    marks = tmp_path / "marks.jsonl"
    script = _write_limited_flow(tmp_path, limit_name, marks)
    processes = [subprocess.Popen([sys.executable, str(script), str(i)], env=dict(os.environ)) for i in range(10)]
    assert all(p.wait(timeout=150) == 0 for p in processes)
    intervals = [tuple(json.loads(line)) for line in marks.read_text().splitlines()]
    assert len(intervals) == 10
    peak = max_overlap(intervals)
    print(f"v2 concurrency, limit 2, 10 flow processes: max concurrently holding = {peak}")
    assert 1 <= peak <= 2
    limit = api.get(f"/v2/concurrency_limits/{limit_name}").json()
    assert limit["active_slots"] == 0  # every lease released on exit


def test_concurrency_releases_on_exceptions_and_ignores_unknown_limits(sdk_env: str, api: httpx.Client) -> None:
    limit_name = unique("sdk-exc")
    assert api.post("/v2/concurrency_limits/", json={"name": limit_name, "limit": 1}).status_code == 201
    with pytest.raises(RuntimeError), concurrency(limit_name):
        assert api.get(f"/v2/concurrency_limits/{limit_name}").json()["active_slots"] == 1
        raise RuntimeError("boom")
    assert api.get(f"/v2/concurrency_limits/{limit_name}").json()["active_slots"] == 0
    with concurrency(unique("no-such-limit")):  # prefect semantics: a missing limit does not block
        pass
    with pytest.raises(TimeoutError), concurrency(limit_name), concurrency(limit_name, timeout_seconds=1.5):
        pass


def test_tag_limit_is_honoured_by_the_task_engine(sdk_env: str, api: httpx.Client) -> None:
    tag = unique("sdk-tag")
    created = api.post("/concurrency_limits/", json={"tag": tag, "concurrency_limit": 2})
    assert created.status_code in (200, 201), created.text

    @task(tags=[tag])
    def slow(i: int) -> tuple[float, float]:
        start = time.time()
        time.sleep(0.5)
        return start, time.time()

    @flow
    def fan_out() -> list[tuple[float, float]]:
        return [f.result() for f in [slow.submit(i) for i in range(5)]]

    intervals = fan_out()
    peak = max_overlap(intervals)
    print(f"tag limit 2, 5 concurrent tasks: max running = {peak}")
    assert peak == 2
    assert api.get(f"/concurrency_limits/tag/{tag}").json()["active_slots"] == []


def test_emit_event_outside_and_inside_a_flow(sdk_env: str, api: httpx.Client) -> None:
    resource = unique("acme.order")

    sent = emit_event("acme.order.created", resource={"prefect.resource.id": resource}, payload={"items": 3})

    @flow
    def ships() -> str:
        emit_event("acme.order.shipped", resource={"prefect.resource.id": resource}, follows=sent["id"])
        from serverflow import runtime

        return str(runtime.flow_run.id)

    run_id = ships()

    def events() -> list[dict[str, Any]]:
        body = {"filter": {"resource": {"id": [resource]}, "occurred": {"since": "2000-01-01T00:00:00Z"}}, "limit": 10}
        response = api.post("/events/filter", json=body)
        response.raise_for_status()
        found = response.json()["events"]
        return found if len(found) == 2 else []

    found = {e["event"]: e for e in wait_until(events)}
    assert found["acme.order.created"]["payload"] == {"items": 3}
    shipped = found["acme.order.shipped"]
    assert shipped["follows"] == sent["id"]
    assert {
        "prefect.resource.id": f"prefect.flow-run.{run_id}",
        "prefect.resource.role": "flow-run",
    }.items() <= shipped["related"][0].items()
