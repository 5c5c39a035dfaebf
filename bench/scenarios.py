"""The REST workload, identical for both servers: request builders and the measured phases."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from bench.load import OpStats, Request, run_load
from bench.ui_queries import rows as ui_rows
from bench.ui_queries import ui_requests

STATE_NAMES = {
    "SCHEDULED": "Scheduled",
    "PENDING": "Pending",
    "RUNNING": "Running",
    "COMPLETED": "Completed",
    "FAILED": "Failed",
}
# Seeded runs cycle through these end states (so the state filter is selective).
SEED_STATES = ("SCHEDULED", "SCHEDULED", "SCHEDULED", "COMPLETED", "FAILED")


class Probe(Protocol):
    """Told when each measured operation starts and ends (e.g. to snapshot server-side counters)."""

    async def start(self, op: str) -> None: ...

    async def end(self, op: str, stats: OpStats) -> None: ...


@dataclass
class ApiConfig:
    n: int = 1000  # requests per measured operation
    concurrency: int = 8
    store_runs: int = 5000  # flow runs stored before the filter operations
    flows: int = 5
    log_batch: int = 10  # logs per POST /logs/
    filter_n: int = 300  # requests per filter operation (filters are the slow reads)
    filter_limit: int = 100
    max_seconds_per_op: float = 60.0
    seed_max_seconds: float = 240.0


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def state_body(state_type: str, scheduled_time: datetime | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": state_type, "name": STATE_NAMES[state_type]}
    if scheduled_time is not None:
        body["state_details"] = {"scheduled_time": iso(scheduled_time)}
    return body


def create_run_req(
    flow_id: str, i: int, state_type: str = "SCHEDULED", scheduled_time: datetime | None = None
) -> Request:
    """POST /flow_runs/; SCHEDULED runs get a past scheduled time unless told (so Pending/Running accept)."""
    if state_type == "SCHEDULED" and scheduled_time is None:
        scheduled_time = datetime.now(UTC) - timedelta(minutes=1)
    body = {
        "flow_id": flow_id,
        "name": f"bench-{i}",
        "tags": ["bench"],
        "parameters": {"i": i},
        "state": state_body(state_type, scheduled_time),
    }
    return ("POST", "flow_runs/", body)


def set_state_req(run_id: str, state_type: str) -> Request:
    return ("POST", f"flow_runs/{run_id}/set_state", {"state": state_body(state_type), "force": False})


def read_req(run_id: str) -> Request:
    return ("GET", f"flow_runs/{run_id}", None)


def filter_bodies(flow_id: str, limit: int) -> dict[str, dict[str, Any]]:
    """The three filters measured with `store_runs` runs stored."""
    return {
        "filter_by_state": {"flow_runs": {"state": {"type": {"any_": ["FAILED"]}}}, "limit": limit},
        "filter_by_flow": {"flows": {"id": {"any_": [flow_id]}}, "limit": limit},
        "filter_sorted_expected_start": {"sort": "EXPECTED_START_TIME_DESC", "limit": limit},
    }


def logs_req(run_id: str, i: int, batch: int) -> Request:
    now = iso(datetime.now(UTC))
    logs = [
        {
            "name": "bench",
            "level": 20,
            "message": f"bench log {i}.{j} " + "x" * 80,
            "timestamp": now,
            "flow_run_id": run_id,
            "task_run_id": None,
        }
        for j in range(batch)
    ]
    return ("POST", "logs/", logs)


def orchestration_check(r: httpx.Response) -> str | None:
    """set_state answers 200/201 with an OrchestrationResult; anything but ACCEPT is a failure here."""
    try:
        status = r.json().get("status")
    except ValueError:
        return "bad-json"
    return None if status == "ACCEPT" else str(status)


async def create_flows(client: httpx.AsyncClient, count: int) -> list[str]:
    ids = []
    for i in range(count):
        r = await _retrying(client, ("POST", "flows/", {"name": f"bench-flow-{i}"}), attempts=20)
        ids.append(r.json()["id"])
    return ids


async def _retrying(client: httpx.AsyncClient, req: Request, attempts: int = 30) -> httpx.Response:
    """Unmeasured setup request: retry 5xx/transport errors a bounded number of times."""
    method, path, body = req
    last: str = ""
    for k in range(attempts):
        try:
            r = await client.request(method, path, json=body)
            if r.status_code < 300:
                return r
            last = f"{r.status_code} {r.text[:200]}"
            if r.status_code < 500 and r.status_code != 429:
                break
        except httpx.HTTPError as e:
            last = repr(e)
        await asyncio.sleep(min(0.05 * 2**k, 1.0))
    raise RuntimeError(f"{method} {path} failed: {last}")


def seed_bodies(flow_ids: list[str], count: int, start: int, mixed: bool = True) -> list[dict[str, Any]]:
    """`POST /flow_runs/` bodies of `count` runs; `mixed`: in mixed states with spread expected start
    times, else all SCHEDULED a minute ago (ready for Pending)."""
    base = datetime.now(UTC)
    bodies: list[dict[str, Any]] = []
    for k in range(count):
        i = start + k
        st = SEED_STATES[i % len(SEED_STATES)] if mixed else "SCHEDULED"
        if not mixed:
            bodies.append(create_run_req(flow_ids[i % len(flow_ids)], i)[2])
            continue
        when = base + timedelta(minutes=(i * 37) % 20000 - 10000)
        bodies.append(create_run_req(flow_ids[i % len(flow_ids)], i, st, when if st == "SCHEDULED" else None)[2])
    return bodies


# Unmeasured bulk creation through the server's own storage code path (bench.seed): bodies -> created ids.
BulkSeed = Callable[[list[dict[str, Any]]], Awaitable[list[str]]]


async def seed_runs(
    client: httpx.AsyncClient,
    flow_ids: list[str],
    count: int,
    start: int,
    concurrency: int,
    max_seconds: float,
    mixed: bool = True,
    bulk: BulkSeed | None = None,
) -> tuple[list[str], float]:
    """Create `count` runs (unmeasured): in bulk when the server offers it, else through the API (retried,
    `concurrency` workers, stops issuing after `max_seconds`)."""
    bodies = seed_bodies(flow_ids, count, start, mixed)
    t0 = time.perf_counter()
    if bulk is not None and bodies:
        try:
            return await bulk(bodies), time.perf_counter() - t0
        except Exception as e:  # noqa: BLE001 - the caller counts what the store holds
            print(f"    bulk seeding failed: {e!r}"[:1000], file=sys.stderr, flush=True)
            return [], time.perf_counter() - t0
    ids: list[str] = []
    it = iter(bodies)

    async def worker() -> None:
        for body in it:
            if time.perf_counter() - t0 > max_seconds:
                return
            try:
                ids.append((await _retrying(client, ("POST", "flow_runs/", body))).json()["id"])
            except RuntimeError:
                continue

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    return ids, time.perf_counter() - t0


# Task runs seeded for the UI's task-run counts: how each of a batch ends (None: left RUNNING).
TASK_RUN_ENDS = ("COMPLETED", "COMPLETED", "COMPLETED", "FAILED", None)


async def seed_task_runs(client: httpx.AsyncClient, flow_run_ids: list[str], per_batch: int, concurrency: int) -> str:
    """Unmeasured: task runs for the UI's task-run counts, spread over `flow_run_ids`. One batch ends before
    the window the UI queries ask for (so a query that reads outside its window shows it), then one inside
    it: completed, failed and still running. Returns the window's start (ISO)."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def make(batch: str, i: int, end: str | None) -> None:
        async with gate:
            body = {
                "flow_run_id": flow_run_ids[i % len(flow_run_ids)],
                "task_key": f"bench-{batch}",
                "dynamic_key": str(i),
                "name": f"bench-{batch}-{i}",
            }
            task_run = (await _retrying(client, ("POST", "task_runs/", body))).json()
            for state in ("RUNNING", end):
                if state is not None:
                    await _retrying(
                        client,
                        ("POST", f"task_runs/{task_run['id']}/set_state", {"state": {"type": state}, "force": True}),
                    )

    await asyncio.gather(*(make("before", i, "COMPLETED") for i in range(per_batch)))
    window_start = iso(datetime.now(UTC))
    await asyncio.gather(*(make("window", i, TASK_RUN_ENDS[i % len(TASK_RUN_ENDS)]) for i in range(per_batch)))
    return window_start


async def run_api_bench(
    client: httpx.AsyncClient,
    cfg: ApiConfig,
    seed_concurrency: int,
    log: Any = print,
    probe: Probe | None = None,
    bulk: BulkSeed | None = None,
) -> dict[str, Any]:
    """All measured REST operations against one server. Returns {"ops": {...}, "setup": {...}}.
    `bulk`: unmeasured seeding (top-ups and the store fill) through the server's storage code path."""
    ops: dict[str, OpStats] = {}
    setup: dict[str, Any] = {}
    flow_ids = await create_flows(client, cfg.flows)

    async def load(op: str, reqs: list[Request], **kw: Any) -> OpStats:
        if probe is not None:
            await probe.start(op)
        stats = await run_load(client, op, reqs, cfg.concurrency, cfg.max_seconds_per_op, **kw)
        if probe is not None:
            await probe.end(op, stats)
        return stats

    created: dict[int, str] = {}

    def collect(i: int, r: httpx.Response) -> None:
        if r.status_code in (200, 201):
            created[i] = r.json()["id"]

    ops["create_flow_run"] = await load(
        "create_flow_run", [create_run_req(flow_ids[i % cfg.flows], i) for i in range(cfg.n)], on_response=collect
    )
    log(f"    create_flow_run: {ops['create_flow_run'].ok}/{cfg.n} ok")
    run_ids = [created[i] for i in sorted(created)]
    missing = cfg.n - len(run_ids)
    if missing > 0:  # top up (unmeasured) so every later op has N targets
        more, dt = await seed_runs(
            client, flow_ids, missing, cfg.n * 10, seed_concurrency, cfg.seed_max_seconds, mixed=False, bulk=bulk
        )
        setup["topup_runs"] = {"count": len(more), "seconds": round(dt, 2)}
        run_ids += more
    for st in ("PENDING", "RUNNING", "COMPLETED"):
        op = f"set_state_{st.lower()}"
        ops[op] = await load(op, [set_state_req(r, st) for r in run_ids[: cfg.n]], check=orchestration_check)
        log(f"    {op}: {ops[op].ok}/{ops[op].requests} ok")
    ops["read_flow_run"] = await load("read_flow_run", [read_req(run_ids[i % len(run_ids)]) for i in range(cfg.n)])
    # Fill the store up to store_runs, then the filters.
    now = await client.post("flow_runs/count", json={})
    have = now.json() if now.status_code == 200 and isinstance(now.json(), int) else len(run_ids)
    to_seed = max(0, cfg.store_runs - have)
    setup["store_target"] = cfg.store_runs
    seeded, dt = await seed_runs(client, flow_ids, to_seed, cfg.n, seed_concurrency, cfg.seed_max_seconds, bulk=bulk)
    setup["seed_runs"] = {
        "count": len(seeded),
        "seconds": round(dt, 2),
        "via": "bulk" if bulk else "api",
        "runs_per_s": round(len(seeded) / dt, 1) if dt > 0 else None,
    }
    log(f"    seeded {len(seeded)} runs in {dt:.1f}s ({'bulk' if bulk else 'api'})")
    count = await client.post("flow_runs/count", json={})
    setup["stored_runs"] = count.json() if count.status_code == 200 else f"count failed: {count.status_code}"
    for op, body in filter_bodies(flow_ids[0], cfg.filter_limit).items():
        first = await client.post("flow_runs/filter", json=body)
        setup[f"{op}_returned"] = len(first.json()) if first.status_code == 200 else f"HTTP {first.status_code}"
        ops[op] = await load(op, [("POST", "flow_runs/filter", body)] * cfg.filter_n)
    ui_runs = run_ids[: cfg.filter_limit]
    per_batch, t0 = max(5, min(cfg.filter_limit, cfg.n // 2)), time.perf_counter()
    window_start = await seed_task_runs(client, ui_runs, per_batch, seed_concurrency)
    setup["seed_task_runs"] = {"count": 2 * per_batch, "seconds": round(time.perf_counter() - t0, 2)}
    log(f"    seeded {2 * per_batch} task runs in {setup['seed_task_runs']['seconds']:.1f}s")
    for op, req in ui_requests(flow_ids, ui_runs, cfg.filter_limit, window_start).items():
        method, path, body = req
        first = await client.request(method, path, json=body)
        setup[f"{op}_returned"] = ui_rows(op, first.json()) if first.status_code == 200 else f"HTTP {first.status_code}"
        ops[op] = await load(op, [req] * cfg.filter_n)
    ops["logs_batch_create"] = await load(
        "logs_batch_create", [logs_req(run_ids[i % len(run_ids)], i, cfg.log_batch) for i in range(cfg.n)]
    )
    # The UI's flow-run page reads the run's logs oldest first, a page at a time.
    page = {"logs": {"flow_run_id": {"any_": [run_ids[0]]}, "level": {"ge_": 0}}, "sort": "TIMESTAMP_ASC"}
    first = await client.post("logs/filter", json={**page, "limit": cfg.filter_limit})
    setup["ui_flow_run_logs_returned"] = len(first.json()) if first.status_code == 200 else f"HTTP {first.status_code}"
    ops["ui_flow_run_logs"] = await load(
        "ui_flow_run_logs", [("POST", "logs/filter", {**page, "limit": cfg.filter_limit})] * cfg.filter_n
    )
    setup["flow_ids"] = flow_ids
    setup["sample_run_ids"] = run_ids[:5]
    return {"ops": {k: v.to_dict() for k, v in ops.items()}, "setup": setup}
