"""Concurrency limits through the real prefect 3.9.1 client and CLI against the local stack."""

from __future__ import annotations

import datetime
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.prefect_env import SCRIPTS, prefect_env, run_script


def _max_overlap(intervals: list[tuple[float, float]]) -> int:
    """Most intervals open at one instant (an end at t closes before a start at t)."""
    events = sorted(
        [(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals], key=lambda e: (e[0], e[1])
    )
    open_now = peak = 0
    for _, delta in events:
        open_now += delta
        peak = max(peak, open_now)
    return peak


def _ts(value: str) -> float:
    return datetime.datetime.fromisoformat(value).timestamp()


def test_tag_limit_of_two_holds_five_concurrent_tasks_to_two(api_url: str, client: httpx.Client) -> None:
    tag = f"limited-{uuid.uuid4().hex[:8]}"
    assert client.post("/concurrency_limits/", json={"tag": tag, "concurrency_limit": 2}).status_code == 201
    data, output = run_script("concurrency_tags.py", api_url, tag)
    assert data["flow_state"] == "COMPLETED" and sorted(data["result"]) == [0, 1, 2, 3, 4], output[-3000:]
    runs = data["task_runs"]
    assert len(runs) == 5 and all(r["state"] == "COMPLETED" and r["running"] and r["completed"] for r in runs), runs
    peak = _max_overlap([(_ts(r["running"]), _ts(r["completed"])) for r in runs])
    print(f"\ntag limit 2, 5 concurrent tasks: max RUNNING at once (from recorded state timestamps) = {peak}")
    assert peak == 2  # never more than the limit, and the limit was actually used
    assert data["active_after"] == 0


def test_global_limit_with_leases_under_ten_concurrent_flows(api_url: str, client: httpx.Client) -> None:
    name = f"db-{uuid.uuid4().hex[:8]}"
    limit = 3
    assert client.post("/v2/concurrency_limits/", json={"name": name, "limit": limit}).status_code == 201
    data, output = run_script("concurrency_global.py", api_url, name, timeout=300)
    holders = data["holders"]
    assert len(holders) == 10 and all(h["state"] == "COMPLETED" for h in holders), output[-3000:]
    peak = _max_overlap([(h["acquired"], h["released"]) for h in holders])
    print(f"\nconcurrency('{name}', occupy=1), limit {limit}, 10 concurrent flows: max holders at once = {peak}")
    assert 1 <= peak <= limit
    assert client.get(f"/v2/concurrency_limits/{name}").json()["active_slots"] == 0


def test_a_killed_holder_s_slot_is_reclaimed_by_the_lease_reaper(api_url: str, client: httpx.Client) -> None:
    name = f"crash-{uuid.uuid4().hex[:8]}"
    assert client.post("/v2/concurrency_limits/", json={"name": name, "limit": 1}).status_code == 201
    with tempfile.TemporaryDirectory(prefix="prefect-home-") as home:
        holder = subprocess.Popen(
            [sys.executable, str(SCRIPTS / "concurrency_holder.py"), name],
            env=prefect_env(api_url, home),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert holder.stdout is not None
            deadline = time.monotonic() + 120
            line = ""
            while time.monotonic() < deadline and "ACQUIRED" not in line:
                line = holder.stdout.readline()
                if not line and holder.poll() is not None:
                    break
            assert "ACQUIRED" in line, "holder never acquired its slot"
            assert client.get(f"/v2/concurrency_limits/{name}").json()["active_slots"] == 1
            holder.send_signal(signal.SIGKILL)
            holder.wait(timeout=30)
        finally:
            if holder.poll() is None:
                holder.kill()
    killed_at = time.monotonic()
    # Nobody else can take the slot while the dead holder's lease lasts.
    assert client.post("/v2/concurrency_limits/increment", json={"names": [name], "slots": 1}).status_code == 423
    reclaimed_after: float | None = None
    deadline = killed_at + 300  # lease (60 s, the reference's minimum) + reaper period (1 min) + slack
    while time.monotonic() < deadline:
        if client.get(f"/v2/concurrency_limits/{name}").json()["active_slots"] == 0:
            reclaimed_after = time.monotonic() - killed_at
            break
        time.sleep(1)
    assert reclaimed_after is not None, "the killed holder's slot was never reclaimed"
    print(f"\nholder SIGKILLed mid-lease (60 s lease): slot reclaimed {reclaimed_after:.1f} s after the kill")
    leased = client.post("/v2/concurrency_limits/increment-with-lease", json={"names": [name], "slots": 1})
    assert leased.status_code == 200


def _cli(api_url: str, home: str, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "prefect"), *args],
        env={**prefect_env(api_url, home), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"prefect {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def test_cli_concurrency_limit_and_global_concurrency_limit(api_url: str) -> None:
    tag = f"cli-{uuid.uuid4().hex[:8]}"
    name = f"cli-gcl-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="prefect-home-") as home:
        _cli(api_url, home, "concurrency-limit", "create", tag, "3")
        assert tag in _cli(api_url, home, "concurrency-limit", "ls").stdout
        assert "3" in _cli(api_url, home, "concurrency-limit", "inspect", tag).stdout
        _cli(api_url, home, "concurrency-limit", "reset", tag)
        _cli(api_url, home, "concurrency-limit", "delete", tag)
        assert tag not in _cli(api_url, home, "concurrency-limit", "ls").stdout

        _cli(api_url, home, "global-concurrency-limit", "create", name, "--limit", "4")
        assert name in _cli(api_url, home, "global-concurrency-limit", "ls").stdout
        assert name in _cli(api_url, home, "global-concurrency-limit", "inspect", name).stdout
        _cli(api_url, home, "global-concurrency-limit", "update", name, "--limit", "6")
        _cli(api_url, home, "--no-prompt", "global-concurrency-limit", "delete", name)
        assert name not in _cli(api_url, home, "global-concurrency-limit", "ls").stdout


def _wait_for(predicate: Any, timeout: float, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def _history(client: httpx.Client, run_id: str) -> list[dict[str, Any]]:
    return client.get("/flow_run_states/", params={"flow_run_id": run_id}).json()


def test_deployment_concurrency_limit_one_with_a_serving_runner(api_url: str, client: httpx.Client) -> None:
    flow_name = f"limited-{uuid.uuid4().hex[:6]}"
    prefix = "dc"
    with tempfile.TemporaryDirectory(prefix="prefect-home-") as home:
        runner = subprocess.Popen(
            [sys.executable, str(SCRIPTS / "deployment_concurrency_serve.py"), flow_name, prefix],
            env={**prefect_env(api_url, home), "PREFECT_RUNNER_POLL_FREQUENCY": "2"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output: list[str] = []
        threading.Thread(target=lambda: output.extend(iter(runner.stdout.readline, "")), daemon=True).start()
        try:

            def deployment(name: str) -> dict[str, Any] | None:
                response = client.get(f"/deployments/name/{flow_name}/{prefix}-{name}")
                return response.json() if response.status_code == 200 else None

            enqueue = _wait_for(lambda: deployment("enqueue"), 120)
            cancel_new = _wait_for(lambda: deployment("cancel-new"), 60)
            assert enqueue and cancel_new, "".join(output)[-3000:]
            assert enqueue["global_concurrency_limit"]["limit"] == 1
            assert enqueue["concurrency_options"]["collision_strategy"] == "ENQUEUE"
            assert cancel_new["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"

            runs = {
                key: [client.post(f"/deployments/{dep['id']}/create_flow_run", json={}).json()["id"] for _ in range(3)]
                for key, dep in (("enqueue", enqueue), ("cancel_new", cancel_new))
            }

            def finished(ids: list[str]) -> list[dict[str, Any]] | None:
                found = [client.get(f"/flow_runs/{run_id}").json() for run_id in ids]
                final = all(run["state"]["type"] in ("COMPLETED", "CANCELLED", "FAILED", "CRASHED") for run in found)
                return found if final else None

            cancel_done = _wait_for(lambda: finished(runs["cancel_new"]), 240, 2)
            enqueue_done = _wait_for(lambda: finished(runs["enqueue"]), 300, 2)
            assert cancel_done and enqueue_done, "".join(output)[-4000:]
        finally:
            runner.send_signal(signal.SIGINT)
            try:
                runner.wait(timeout=30)
            except subprocess.TimeoutExpired:
                runner.kill()

    # ENQUEUE: all three complete, one at a time, the later ones after waiting for the slot.
    assert [run["state"]["type"] for run in enqueue_done] == ["COMPLETED"] * 3
    histories = {run_id: _history(client, run_id) for run_id in runs["enqueue"]}
    intervals = []
    for history in histories.values():
        running = [s["timestamp"] for s in history if s["type"] == "RUNNING"]
        completed = [s["timestamp"] for s in history if s["type"] == "COMPLETED"]
        intervals.append((_ts(running[0]), _ts(completed[-1])))
    peak = _max_overlap(intervals)
    waited = sum(any(s["name"] == "AwaitingConcurrencySlot" for s in h) for h in histories.values())
    print(
        f"\ndeployment concurrency_limit=1, ENQUEUE, 3 runs: max RUNNING at once = {peak}, runs that waited = {waited}"
    )
    assert peak == 1 and waited >= 1
    # CANCEL_NEW: one completes; the runs that found the slot taken are cancelled.
    states = sorted(run["state"]["type"] for run in cancel_done)
    print(f"deployment concurrency_limit=1, CANCEL_NEW, 3 runs: {states}")
    assert states.count("COMPLETED") >= 1 and states.count("CANCELLED") >= 1
    assert states.count("COMPLETED") + states.count("CANCELLED") == 3
    for dep in (enqueue, cancel_new):
        assert client.get(f"/v2/concurrency_limits/deployment:{dep['id']}").json()["active_slots"] == 0
