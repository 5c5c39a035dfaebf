"""Drive bench.client_flow in subprocesses against one server; wait until the task runs are queryable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

import httpx

from bench.load import PREFECT_HEADERS, assert_loopback
from bench.procs import REPO


def client_env(api_url: str, home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        {
            "PREFECT_API_URL": api_url,
            "PREFECT_HOME": home,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PYTHONPATH": str(REPO),
        }
    )
    return env


def count_task_runs(api_url: str, flow_run_id: str) -> int | None:
    """The flow run's task runs recorded in their final state (the bench flow's tasks all complete)."""
    try:
        r = httpx.post(
            f"{api_url}/task_runs/count",
            json={
                "flow_runs": {"id": {"any_": [flow_run_id]}},
                "task_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
            },
            headers=PREFECT_HEADERS,
            timeout=10,
        )
        return int(r.json()) if r.status_code == 200 else None
    except (httpx.HTTPError, ValueError, TypeError):
        return None


def run_client_flow(
    api_url: str,
    tasks: int,
    mode: str,
    timeout_s: float = 180.0,
    wait_recorded_s: float = 20.0,
    module: str = "bench.client_flow",
    frames_out: str | None = None,
) -> dict[str, Any]:
    """One flow in a fresh interpreter (``module``: bench.client_flow for prefect, bench.sdk_flow for the
    Serverflow SDK). Adds the outer wall time and the delay until the server has recorded all task runs
    (polled, bounded by `wait_recorded_s`)."""
    assert_loopback(api_url)
    with tempfile.TemporaryDirectory(prefix="bench-client-") as home:
        t0 = time.perf_counter()
        try:
            p = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    module,
                    "--tasks",
                    str(tasks),
                    "--mode",
                    mode,
                    *(["--frames-out", frames_out] if frames_out else []),
                ],
                cwd=str(REPO),
                env=client_env(api_url, home),
                capture_output=True,
                text=True,
                timeout=timeout_s,
            )
        except subprocess.TimeoutExpired:
            return {"mode": mode, "tasks": tasks, "error": f"timeout after {timeout_s}s"}
        wall = time.perf_counter() - t0
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if line is None:
        return {"mode": mode, "tasks": tasks, "error": f"exit {p.returncode}", "stderr_tail": p.stderr[-2000:]}
    res: dict[str, Any] = json.loads(line.removeprefix("BENCH_RESULT "))
    res["subprocess_wall_s"] = round(wall, 3)
    res["client_warnings"] = sum(1 for ln in p.stderr.splitlines() if "WARNING" in ln or "ERROR" in ln)
    if res["client_warnings"]:
        res["stderr_tail"] = p.stderr[-1500:]
    t1 = time.perf_counter()
    recorded, failures = None, 0
    while time.perf_counter() - t1 < wait_recorded_s:
        recorded = count_task_runs(api_url, res["flow_run_id"])
        if recorded is not None and recorded >= tasks:
            break
        failures += recorded is None
        if failures >= 3:  # the count endpoint does not answer: do not wait for nothing
            break
        time.sleep(0.25)
    res["task_runs_recorded"] = recorded
    res["recorded_after_exit_s"] = round(time.perf_counter() - t1, 2)
    return res


def per_task_overhead_ms(flows: list[dict[str, Any]], mode: str = "sequential") -> float | None:
    """(flow wall with N tasks - with 0 tasks) / N, from one client's runs of the bench flow."""
    by_tasks: dict[Any, dict[str, Any]] = {
        f.get("tasks"): f for f in flows if f.get("mode") == mode and "flow_wall_s" in f
    }
    empty = by_tasks.get(0)
    full = max((n for n in by_tasks if n), default=None)
    if empty is None or full is None:
        return None
    wall_s: float = by_tasks[full]["flow_wall_s"] - empty["flow_wall_s"]
    return round(wall_s / int(full) * 1000, 3)


def per_task_until_recorded_ms(flows: list[dict[str, Any]], mode: str = "sequential") -> float | None:
    """Per task from starting the flow's process until the server has recorded all its task runs (subprocess wall
    + the polled delay after exit), N tasks minus 0 tasks, over N. Both clients' flows return once their events
    are sent (the SDK's once they are acknowledged); the server records them meanwhile and after: this compares
    the two on the wait a user has before the runs are all visible, completed. None when a run was not fully
    recorded in the wait."""

    def until_recorded(f: dict[str, Any]) -> float | None:
        if "subprocess_wall_s" not in f or (f.get("task_runs_recorded") or 0) < f.get("tasks", 0):
            return None
        return float(f["subprocess_wall_s"]) + float(f.get("recorded_after_exit_s") or 0.0)

    by_tasks = {f.get("tasks"): f for f in flows if f.get("mode") == mode}
    full = max((n for n in by_tasks if n), default=None)
    if 0 not in by_tasks or full is None:
        return None
    empty, loaded = until_recorded(by_tasks[0]), until_recorded(by_tasks[full])
    if empty is None or loaded is None:
        return None
    return round((loaded - empty) / int(full) * 1000, 3)
