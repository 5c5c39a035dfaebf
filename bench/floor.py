"""Serverflow-only floor figures from the server-side counters (bench.sf_server): DynamoDB calls and
estimated request units per operation, items read vs returned per filter, scheduled-function ticks."""

from __future__ import annotations

from typing import Any

import httpx

from bench.cost import Routes, diff_routes
from bench.load import OpStats


def snapshot(counters_url: str) -> Routes:
    r = httpx.get(f"{counters_url}/counters", timeout=10)
    r.raise_for_status()
    routes: Routes = r.json()["routes"]
    return routes


def tick(counters_url: str, timeout_s: float = 60.0) -> list[dict[str, Any]]:
    r = httpx.post(f"{counters_url}/tick", timeout=timeout_s)
    r.raise_for_status()
    ticks: list[dict[str, Any]] = r.json()["ticks"]
    return ticks


def replay_ws(counters_url: str, frames: list[str], timeout_s: float = 300.0) -> dict[str, Any]:
    """The frames through the websocket Lambda handler, one invocation each (bench/ws_replay.py)."""
    r = httpx.post(f"{counters_url}/replay_ws", json=frames, timeout=timeout_s)
    r.raise_for_status()
    result: dict[str, Any] = r.json()
    return result


def wait_quiet(counters_url: str, settle_s: float = 2.0, max_s: float = 60.0) -> float:
    """Wait until the server makes no more DynamoDB calls for `settle_s` (e.g. it has processed the
    websocket events a client left behind), at most `max_s`. Returns the seconds waited."""
    import time

    t0 = time.perf_counter()
    last, since = -1, time.perf_counter()
    while time.perf_counter() - t0 < max_s:
        try:
            calls = sum(r.get("ddb_calls", 0) for k, r in snapshot(counters_url).items() if k != "background")
        except httpx.HTTPError:
            break
        if calls != last:
            last, since = calls, time.perf_counter()
        elif time.perf_counter() - since >= settle_s:
            break
        time.sleep(0.25)
    return round(time.perf_counter() - t0, 2)


class CountersProbe:
    """Snapshots the counters around each measured operation; `per_op[op]` = (routes diff, requests sent)."""

    def __init__(self, counters_url: str) -> None:
        self.url = counters_url
        self.before: Routes = {}
        self.per_op: dict[str, tuple[Routes, int]] = {}

    async def start(self, op: str) -> None:
        async with httpx.AsyncClient(timeout=10) as c:
            self.before = (await c.get(f"{self.url}/counters")).json()["routes"]

    async def end(self, op: str, stats: OpStats) -> None:
        if any(kind.endswith(("Timeout", "Error")) for kind in stats.error_kinds):
            # Requests the client gave up on (timeouts) are still being served: let them finish, so their
            # work counts here and not in the next operation's window.
            import asyncio

            await asyncio.to_thread(wait_quiet, self.url, 2.0, 90.0)
        async with httpx.AsyncClient(timeout=10) as c:
            after = (await c.get(f"{self.url}/counters")).json()["routes"]
        self.per_op[op] = (diff_routes(after, self.before), stats.requests)


def summarize_op(routes: Routes, count: int) -> dict[str, Any]:
    """Per-operation floor: DynamoDB calls (by API), estimated RRU/WRU, Query items read vs returned,
    mean server-side time. Background work (scheduled ticks) is excluded and reported on its own."""
    fg = {k: v for k, v in routes.items() if k != "background"}
    n = max(count, 1)
    calls = sum(r.get("ddb_calls", 0) for r in fg.values())
    ops: dict[str, float] = {}
    for r in fg.values():
        for op, c in r.get("ops", {}).items():
            ops[op] = ops.get(op, 0) + c
    http = {k: v for k, v in fg.items() if not k.startswith("WS ")}
    requests = sum(r.get("requests", 0) for r in http.values())
    scanned = sum(r.get("query_scanned", 0) for r in fg.values())
    returned = sum(r.get("query_returned", 0) for r in fg.values())
    out: dict[str, Any] = {
        "requests": count,
        "ddb_calls_per_op": round(calls / n, 2),
        "ddb_ops_per_op": {k: round(v / n, 2) for k, v in sorted(ops.items())},
        "rru_per_op": round(sum(r.get("rru", 0) for r in fg.values()) / n, 2),
        "wru_per_op": round(sum(r.get("wru", 0) for r in fg.values()) / n, 2),
        "server_ms_mean": round(sum(r.get("server_s", 0) for r in http.values()) / max(requests, 1) * 1000, 2),
        "ddb_ms_per_op": round(sum(r.get("ddb_s", 0) for r in fg.values()) / n * 1000, 2),
        "botocore_clients_created_per_op": round(sum(r.get("clients_created", 0) for r in fg.values()) / n, 2),
        "http_requests_per_op": round(requests / n, 2),
        "ws_messages_per_op": round(sum(r.get("ws_messages", 0) for r in fg.values()) / n, 2),
        "routes": sorted(fg),
    }
    if scanned or returned or "Query" in ops or "Scan" in ops:
        out["items_read_per_op"] = round(scanned / n, 1)
        out["items_returned_by_ddb_per_op"] = round(returned / n, 1)
        out["scans_per_op"] = round(ops.get("Scan", 0) / n, 2)
    key_reads = sum(r.get("key_reads", 0) for r in fg.values())
    anchors = sum(r.get("index_anchors", 0) for r in fg.values())
    if scanned or key_reads:
        # Every item read: Query ScannedCount plus GetItem/BatchGetItem items, but the index anchors (flow
        # runs' anchors, the task-run guards listing a flow run's task runs): index entries (one per run
        # listed, whose run item is then read by key), counted apart.
        out["items_read_all_per_op"] = round((scanned - anchors + key_reads) / n, 2)
        out["index_anchors_read_per_op"] = round(anchors / n, 2)
    bg = routes.get("background")
    if bg:
        out["background_ddb_calls_during_op"] = bg.get("ddb_calls", 0)
    return out


def client_floor(flow_counters: dict[str, Routes], tasks: int) -> dict[str, Any]:
    """Floor rows from the real-client flows: a whole flow run with no tasks, and the marginal task run."""
    out: dict[str, Any] = {}
    f0, fn = flow_counters.get("sequential_0"), flow_counters.get(f"sequential_{tasks}")
    if f0:
        out["client: flow run (0 tasks)"] = summarize_op(f0, 1)
    if f0 and fn and tasks > 0:
        m = summarize_op(diff_routes(fn, f0), tasks)
        # Per task: what the extra tasks added (task-run events on the websocket); fixed per-flow HTTP
        # requests cancel out, and their server time is noise here.
        m["server_ms_mean"] = None
        m["http_requests_per_op"] = max(0.0, m["http_requests_per_op"])
        m["ddb_ops_per_op"] = {k: v for k, v in m["ddb_ops_per_op"].items() if v > 0}
        out["client: task run (marginal)"] = m
    return out
