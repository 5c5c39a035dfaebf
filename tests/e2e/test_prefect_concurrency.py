"""Concurrency limits through the real prefect 3.9.1 client and CLI against the local stack."""

from __future__ import annotations

import datetime
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from tests.e2e.prefect_env import SCRIPTS, prefect_env, run_script


def _max_overlap(intervals: list[tuple[float, float]]) -> int:
    """Most intervals open at one instant (an end at t closes before a start at t)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals], key=lambda e: (e[0], e[1]))
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
