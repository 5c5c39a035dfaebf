"""What the embedded emulator's write-ahead journal costs: create_flow_run throughput, journal off vs on.

    .venv/bin/python -m bench.journal [--runs 1000] [--rounds 2]

Both stacks run the same code on loopback; "off" is `--in-memory`, "on" is `--data-dir <temp>` (every
acknowledged write fsynced, concurrent writers sharing one fsync). Rounds alternate off/on so a busy
machine penalises both alike. Target (issue #14): the journal costs at most 20% of the throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.load import make_client, run_load
from bench.procs import ServerProc, _spawn, free_port, wait_ready


def start_stack(journal: bool, home: tempfile.TemporaryDirectory[str]) -> ServerProc:
    port, emulator_port = free_port(), free_port()
    storage = ["--data-dir", str(Path(home.name) / "data")] if journal else ["--in-memory"]
    argv = [
        sys.executable,
        "-m",
        "infra.local",
        "--port",
        str(port),
        "--emulator-port",
        str(emulator_port),
        "--no-schedules",
        *storage,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")} | {"PYTHONUNBUFFERED": "1"}
    srv = _spawn("journal" if journal else "in-memory", argv, env, home, f"http://127.0.0.1:{port}/api")
    wait_ready(srv, "/health", 90, marker="Serverflow API:")
    return srv


async def create_runs(api_url: str, runs: int, concurrency: int) -> float:
    async with make_client(api_url, concurrency) as client:
        flow = (await client.post("flows/", json={"name": "journal-bench"})).json()
        stats = await run_load(
            client,
            "create_flow_run",
            [("POST", "flow_runs/", {"flow_id": flow["id"]})] * runs,
            concurrency=concurrency,
            max_seconds=120,
        )
    if stats.errors:
        raise RuntimeError(f"create_flow_run errors: {stats.error_kinds}")
    return float(stats.throughput_rps or 0.0)


def measure(runs: int, rounds: int, concurrency: int) -> dict[str, Any]:
    results: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(rounds):
        for mode in ("off", "on"):
            home = tempfile.TemporaryDirectory(prefix=f"bench-journal-{mode}-")
            srv = start_stack(mode == "on", home)
            try:
                results[mode].append(asyncio.run(create_runs(srv.api_url, runs, concurrency)))
            finally:
                srv.stop()
                home.cleanup()
    off, on = statistics.median(results["off"]), statistics.median(results["on"])
    return {
        "runs": runs,
        "concurrency": concurrency,
        "rounds": results,
        "off_rps": off,
        "on_rps": on,
        "cost_pct": round(100 * (1 - on / off), 1) if off else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.journal", description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    result = measure(args.runs, args.rounds, args.concurrency)
    print(json.dumps(result))
    print(
        f"create_flow_run throughput: journal off {result['off_rps']:.0f}/s, on {result['on_rps']:.0f}/s "
        f"(journal costs {result['cost_pct']}%, target <= 20%)"
    )


if __name__ == "__main__":
    main()
