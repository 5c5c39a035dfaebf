"""The bench's client flow (N trivial tasks, sequential or .submit()) run by the Serverflow SDK instead of
prefect, in a fresh interpreter; prints a JSON line like bench.client_flow:
    python -m bench.sdk_flow --tasks 200 --mode sequential
Same flow, same server: per-task overhead = (flow wall with N tasks - with 0) / N, compared with prefect's.
"""

from __future__ import annotations

import argparse
import json
import time

from bench.flow_shapes import bench_flow, flow_name

T_PROCESS = time.perf_counter()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--mode", choices=["sequential", "submit"], default="sequential")
    args = ap.parse_args()
    t_import = time.perf_counter()
    from serverflow import flow, task
    from serverflow.client import requests_sent

    import_s = time.perf_counter() - t_import

    fn = bench_flow(flow, task, args.mode, flow_name(args.mode, sdk=True))
    t0 = time.perf_counter()
    state = fn(args.tasks, return_state=True)
    flow_s = time.perf_counter() - t0
    out = {
        "client": "serverflow",
        "mode": args.mode,
        "tasks": args.tasks,
        "state": state.type.value,
        "flow_run_id": str(state.state_details.get("flow_run_id")),
        "import_s": round(import_s, 3),
        "flow_wall_s": round(flow_s, 3),
        "process_wall_s": round(time.perf_counter() - T_PROCESS, 3),
        "http_requests": requests_sent(),
    }
    print("BENCH_RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
