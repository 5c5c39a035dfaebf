"""Run one real-prefect-client flow (N trivial tasks, sequential or .submit()) and print a JSON line.

Run in a subprocess with PREFECT_API_URL and a temp PREFECT_HOME:
    python -m bench.client_flow --tasks 200 --mode submit
Counts the HTTP requests (by method + path template) and events the client sent, for the cost model.
"""

from __future__ import annotations

import argparse
import atexit
import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.flow_shapes import bench_flow, flow_name

T_PROCESS = time.perf_counter()
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
requests_sent: Counter[str] = Counter()
events_sent: Counter[str] = Counter()
frames_sent: list[str] = []  # every event as the client serialized it (one websocket frame each)


def _template(method: str, url: Any) -> str:
    path = UUID_RE.sub("{id}", str(getattr(url, "path", url)))
    return f"{method} {path}"


def install_counters() -> None:
    """Count requests at the client (httpx send) and events at the events client (_emit)."""
    import httpx

    orig_async, orig_sync = httpx.AsyncClient.send, httpx.Client.send

    async def async_send(self: httpx.AsyncClient, request: httpx.Request, **kw: Any) -> httpx.Response:
        requests_sent[_template(request.method, request.url)] += 1
        return await orig_async(self, request, **kw)

    def sync_send(self: httpx.Client, request: httpx.Request, **kw: Any) -> httpx.Response:
        requests_sent[_template(request.method, request.url)] += 1
        return orig_sync(self, request, **kw)

    httpx.AsyncClient.send = async_send  # type: ignore[method-assign]  # patches the library in place (local emulator / bench instrumentation)
    httpx.Client.send = sync_send  # type: ignore[method-assign]  # patches the library in place (local emulator / bench instrumentation)
    try:
        from prefect.events.clients import PrefectEventsClient

        orig_emit = PrefectEventsClient._emit

        async def emit(self: Any, event: Any) -> None:
            events_sent[".".join(str(event.event).split(".")[:2])] += 1
            frames_sent.append(event.model_dump_json())
            await orig_emit(self, event)

        PrefectEventsClient._emit = emit
    except (ImportError, AttributeError):
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--mode", choices=["sequential", "submit"], default="sequential")
    ap.add_argument("--frames-out", help="write the events the client sent (one JSON frame per line) here")
    args = ap.parse_args()
    t_import = time.perf_counter()
    from prefect import flow, task

    import_s = time.perf_counter() - t_import
    install_counters()
    if args.frames_out:
        # Registered before prefect's events worker starts, so it runs after that worker's exit flush.
        atexit.register(lambda: Path(args.frames_out).write_text("".join(frame + "\n" for frame in frames_sent)))

    fn = bench_flow(flow, task, args.mode, flow_name(args.mode))
    t0 = time.perf_counter()
    state = fn(args.tasks, return_state=True)
    flow_s = time.perf_counter() - t0
    out = {
        "mode": args.mode,
        "tasks": args.tasks,
        "state": state.type.value,
        "flow_run_id": str(state.state_details.flow_run_id),
        "import_prefect_s": round(import_s, 3),
        "flow_wall_s": round(flow_s, 3),
        "process_wall_s": round(time.perf_counter() - T_PROCESS, 3),
        "http_requests": dict(requests_sent),
        "events": dict(events_sent),
    }
    print("BENCH_RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
