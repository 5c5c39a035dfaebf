"""Serverflow-only figure: push latency, `create_flow_run` for "now" -> the run is PENDING in a waiting
`serverflow worker` (its pool's SQS queue delivers the hint; the worker's API poll is set to 60 s, so
polling cannot be what starts it).

    .venv-test/bin/python -m bench.worker_latency --api-url http://127.0.0.1:PORT/api --aws-endpoint-url http://127.0.0.1:EMU

`measure(api_url, aws_endpoint_url, runs=5)` returns a JSON-able dict: per run the server-side
create -> PENDING (PENDING state timestamp minus SCHEDULED state timestamp, one clock) and the
client-observed create -> seen non-SCHEDULED (includes this process's polling, 20 ms), plus p50/max.
Runs are created one at a time, each after the previous one completed, so every sample is a cold hint
to an idle, long-polling worker. It creates its own pool (deleted at the end, with its SQS queue),
deployment and flow file in a temp dir; loopback only; bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from tests.server_env import server_python

REPO = Path(__file__).resolve().parent.parent

FLOW_FILE = """
from serverflow import flow


@flow(name="{name}")
def noop() -> int:
    return 1
"""

WORKER_ENV = {
    "SERVERFLOW_WORKER_QUERY_SECONDS": "60",  # no API poll during the measurement: only SQS can deliver
    "SERVERFLOW_WORKER_SQS_WAIT_SECONDS": "3",  # a message ends a long poll at once; short ones stop quickly
    "SERVERFLOW_WORKER_HEARTBEAT_SECONDS": "30",
}


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text[:500]}"
        )
    return response.json() if response.content else None


def _loopback(url: str) -> None:
    host = urlparse(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"bench load goes to loopback only, not {url}")


def _wait(check: Any, timeout: float, interval: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {timeout}s")
        time.sleep(interval)


def _server_latency(http: httpx.Client, run_id: str) -> float:
    states = {
        s["type"]: datetime.fromisoformat(s["timestamp"])
        for s in _ok(http.get("/flow_run_states/", params={"flow_run_id": run_id}))
    }
    return (states["PENDING"] - states["SCHEDULED"]).total_seconds()


def _stop(process: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)  # its own session: the flow processes go too
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            continue


def measure(api_url: str, aws_endpoint_url: str, runs: int = 5, bound_s: float = 10.0) -> dict[str, Any]:
    _loopback(api_url)
    _loopback(aws_endpoint_url)
    runs = max(1, min(runs, 50))
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp, httpx.Client(base_url=api_url, timeout=30) as http:
        home = Path(tmp)
        tag = uuid.uuid4().hex[:8]
        pool = f"bench-push-{tag}"
        (home / "flows").mkdir()
        (home / "flows" / "noop.py").write_text(FLOW_FILE.format(name=f"bench-noop-{tag}"))
        _ok(http.post("/work_pools/", json={"name": pool, "type": "process"}))
        worker: subprocess.Popen[bytes] | None = None
        log = home / "worker.log"
        try:
            flow = _ok(http.post("/flows/", json={"name": f"bench-noop-{tag}"}))
            deployment = _ok(
                http.post(
                    "/deployments/",
                    json={
                        "name": "push-latency",
                        "flow_id": flow["id"],
                        "work_pool_name": pool,
                        "entrypoint": "flows/noop.py:noop",
                        "path": str(home),
                    },
                )
            )
            env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SERVERFLOW_"))}
            env.update(
                WORKER_ENV,
                SERVERFLOW_API_URL=api_url,
                SERVERFLOW_AWS_ENDPOINT_URL=aws_endpoint_url,
                AWS_ACCESS_KEY_ID=env.get("AWS_ACCESS_KEY_ID", "testing"),
                AWS_SECRET_ACCESS_KEY=env.get("AWS_SECRET_ACCESS_KEY", "testing"),
                AWS_REGION="us-east-1",
                AWS_DEFAULT_REGION="us-east-1",
                SERVERFLOW_LOCAL_STORAGE_PATH=str(home / "results"),
                PYTHONUNBUFFERED="1",
            )
            with open(log, "wb") as out:
                worker = subprocess.Popen(
                    [server_python(), "-m", "serverflow.cli", "worker", "--pool", pool],
                    cwd=REPO,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            _wait(
                lambda: "started on pool" in log.read_text(errors="replace") or worker.poll() is not None,
                60,
                0.1,
                "worker start",
            )
            if "mode: SQS long polling" not in log.read_text(errors="replace"):
                raise RuntimeError(f"worker is not on SQS:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)  # inside its first long poll
            samples = []
            for _ in range(runs):
                started = time.monotonic()
                run = _ok(http.post(f"/deployments/{deployment['id']}/create_flow_run", json={}))
                run_url = f"/flow_runs/{run['id']}"
                _wait(
                    lambda url=run_url: _ok(http.get(url))["state_type"] != "SCHEDULED", bound_s, 0.02, "push delivery"
                )
                observed = time.monotonic() - started
                _wait(
                    lambda url=run_url: _ok(http.get(url))["state_type"] in ("COMPLETED", "FAILED", "CRASHED"),
                    60,
                    0.1,
                    "run end",
                )
                samples.append(
                    {
                        "run_id": run["id"],
                        "create_to_pending_s": round(_server_latency(http, run["id"]), 4),
                        "create_to_observed_s": round(observed, 4),
                    }
                )
                time.sleep(0.5)  # the worker is back in a long poll
        finally:
            if worker is not None:
                _stop(worker)
            http.delete(f"/work_pools/{pool}")
    server = [s["create_to_pending_s"] for s in samples]
    observed_all = [s["create_to_observed_s"] for s in samples]
    return {
        "what": "create_flow_run -> PENDING in an idle serverflow worker (SQS push; API poll 60 s)",
        "runs": len(samples),
        "create_to_pending_p50_s": round(statistics.median(server), 4),
        "create_to_pending_max_s": round(max(server), 4),
        "create_to_observed_p50_s": round(statistics.median(observed_all), 4),
        "samples": samples,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--aws-endpoint-url", required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    result = measure(args.api_url, args.aws_endpoint_url, args.runs)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
