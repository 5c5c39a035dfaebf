"""One command: Serverflow beside the reference Prefect server, same load, one run.

    .venv-test/bin/python -m bench            # full run (< 10 min)
    .venv-test/bin/python -m bench --smoke    # tiny counts (< 60 s)

Starts the reference (prefect 3.9.1, SQLite) and the Serverflow local stack one after the other on free
loopback ports, runs the same REST load and the same real-prefect-client flows against each, collects
Serverflow-only floor figures and a cost model, prints a table and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import httpx

from bench import cost as costmod
from bench import storage_floor, worker_latency
from bench.client_runs import per_task_overhead_ms, per_task_until_recorded_ms, run_client_flow
from bench.floor import CountersProbe, client_floor, replay_ws, snapshot, summarize_op, tick, wait_quiet
from bench.flow_shapes import flow_name
from bench.imports import import_report
from bench.load import make_client
from bench.procs import REPO, ServerProc, reference_env, start_reference, start_serverflow
from bench.report import RESULTS_DIR, api_ratios, render, write_json
from bench.scenarios import ApiConfig, BulkSeed, run_api_bench
from bench.seed import ref_seed

BENCH_POLL_ROUTE = "POST /api/task_runs/count"
SMOKE = {
    "n": 8,
    "filter_n": 8,
    "store_runs": 40,
    "tasks": 3,
    "import_repeats": 1,
    "max_seconds_per_op": 10.0,
    "seed_max_seconds": 10.0,
}
FULL = {
    "n": 1000,
    "filter_n": 300,
    "store_runs": 5000,
    "tasks": 200,
    "import_repeats": 2,
    "max_seconds_per_op": 15.0,
    "seed_max_seconds": 45.0,
}


def _create_flow(api_url: str, name: str) -> None:
    """Create the bench flow before its measured runs, as it exists for every run of a flow but its
    first: creating a flow (once per flow, not per run) is not part of a flow run's cost."""
    httpx.post(f"{api_url}/flows/", json={"name": name}, timeout=30).raise_for_status()


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--smoke", action="store_true", help="tiny counts, < 60 s")
    ap.add_argument("--n", type=int, help="requests per measured operation")
    ap.add_argument("--filter-n", type=int, help="requests per filter operation")
    ap.add_argument("--store-runs", type=int, help="flow runs stored before the filters")
    ap.add_argument("--tasks", type=int, help="tasks in the real-client flows")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--import-repeats", type=int)
    ap.add_argument("--max-seconds-per-op", type=float, help="time bound of each measured operation")
    ap.add_argument("--seed-max-seconds", type=float, help="time bound of seeding the store, per server")
    ap.add_argument(
        "--seed-via",
        choices=["bulk", "api"],
        default="bulk",
        help="unmeasured seeding: each server's storage code path in bulk (default), or its API",
    )
    ap.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["reference", "serverflow", "imports", "client", "api"],
        help="leave a part out",
    )
    ap.add_argument("--out", default=None, help="results directory (default bench/results)")
    args = ap.parse_args(argv)
    base = SMOKE if args.smoke else FULL
    for k, v in base.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    return args


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=str(REPO), capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=str(REPO),
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return out + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def _stored(res: dict[str, Any]) -> int | None:
    """Runs the Serverflow side actually stored before its filters, if it got that far."""
    n = ((res.get("serverflow") or {}).get("api") or {}).get("setup", {}).get("stored_runs")
    return n if isinstance(n, int) and n > 0 else None


def start(kind: str) -> ServerProc:
    log(f"[{kind}] starting")
    return start_reference() if kind == "reference" else start_serverflow()


def bench_side(kind: str, args: argparse.Namespace, cfg: ApiConfig, started: Future[ServerProc]) -> dict[str, Any]:
    """Run the API load and the client flows against one (started) server, then stop it."""
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    srv: ServerProc | None = None
    try:
        srv = started.result()
        out["server"] = {"api_url": srv.api_url, "startup_s": srv.startup_s}
        time.sleep(1.0)
        out["server"]["rss_idle_mb"] = srv.rss_mb()
        counters = srv.extra.get("counters_url")
        probe = CountersProbe(counters) if counters else None
        if counters:
            # Idle is an empty store: each scheduled function ticked once before any load (priced as idle).
            log(f"[{kind}] scheduled functions: one tick each at idle")
            out["ticks"] = tick(counters)
            log(f"[{kind}] push latency: create_flow_run -> PENDING in an idle serverflow worker")
            try:
                out["worker_latency"] = worker_latency.measure(
                    srv.api_url, srv.extra["aws_endpoint_url"], runs=3 if args.smoke else 10
                )
            except Exception as exc:  # noqa: BLE001 - a figure missing, not a failed bench
                out["worker_latency"] = {"error": str(exc)}
        if "api" not in args.skip:
            log(f"[{kind}] REST load")
            bulk = None if args.seed_via == "api" else bulk_seeder(kind, srv, 2 * args.seed_max_seconds + 30)
            out["api"] = asyncio.run(_api(srv.api_url, cfg, 2 if kind == "reference" else 8, probe, bulk))
        if probe is not None:
            out["floor"] = {op: summarize_op(routes, n) for op, (routes, n) in probe.per_op.items()}
            out["counters_per_op"] = {op: routes for op, (routes, _) in probe.per_op.items()}
        if counters:
            wait_quiet(counters, max_s=10.0 if args.smoke else 30.0)  # requests the load abandoned
        if "client" not in args.skip:
            out["client_flows"], out["client_flow_counters"] = [], {}
            plans = [(0, "sequential")] if counters else []
            plans += [(args.tasks, "sequential")] + ([] if args.smoke else [(args.tasks, "submit")])
            for tasks, mode in plans:
                log(f"[{kind}] real prefect client flow: {tasks} tasks, {mode}")
                if counters:
                    _create_flow(srv.api_url, flow_name(mode))
                before = snapshot(counters) if counters else None
                frames_file = tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False).name if counters else None  # noqa: SIM115 - only a path is wanted: the client flow subprocess writes the file
                res = run_client_flow(
                    srv.api_url, tasks, mode, wait_recorded_s=5.0 if args.smoke else 20.0, frames_out=frames_file
                )
                out["client_flows"].append(res)
                if counters and before is not None:
                    res["server_quiet_after_s"] = wait_quiet(counters, max_s=10.0 if args.smoke else 60.0)
                    d = costmod.diff_routes(snapshot(counters), before)
                    d.pop(BENCH_POLL_ROUTE, None)  # the bench's own polling is not the flow's work
                    d, periodic = costmod.split_periodic(d)
                    out.setdefault("periodic_wru", {})[f"client_{mode}_{tasks}"] = periodic
                    out["client_flow_counters"][f"{mode}_{tasks}"] = d
                    if mode == "sequential" and frames_file:
                        # The same frames as AWS runs them: one websocket Lambda invocation each.
                        frames = [ln for ln in Path(frames_file).read_text().splitlines() if ln.strip()]
                        before = snapshot(counters)
                        res["aws_ws_replay"] = replay_ws(counters, frames)
                        replayed = costmod.diff_routes(snapshot(counters), before)
                        # The stream-fed functions record the replayed task runs after the replay returns: let them
                        # finish, or their tail lands in the next measured flow's window (the SDK's 0-task flow
                        # took 3 task runs' recorder work, 12 WRU, that way). The local run's stream work stands
                        # for theirs.
                        wait_quiet(counters, max_s=10.0 if args.smoke else 60.0)
                        out.setdefault("client_flow_counters_aws", {})[f"{mode}_{tasks}"] = costmod.on_aws_path(
                            d, replayed
                        )
                if frames_file:
                    Path(frames_file).unlink(missing_ok=True)
        if counters and "client" not in args.skip:
            # The same flow through the Serverflow SDK, on the same server: its per-task overhead beside prefect's.
            out["sdk_flows"], out["sdk_flow_counters"] = [], {}
            for tasks in (0, args.tasks):
                log(f"[{kind}] serverflow SDK flow: {tasks} tasks, sequential")
                _create_flow(srv.api_url, flow_name("sequential", sdk=True))
                before = snapshot(counters)
                out["sdk_flows"].append(
                    run_client_flow(
                        srv.api_url,
                        tasks,
                        "sequential",
                        wait_recorded_s=5.0 if args.smoke else 20.0,
                        module="bench.sdk_flow",
                    )
                )
                wait_quiet(counters, max_s=10.0 if args.smoke else 60.0)
                d = costmod.diff_routes(snapshot(counters), before)
                d.pop(BENCH_POLL_ROUTE, None)
                d, periodic = costmod.split_periodic(d)
                out.setdefault("periodic_wru", {})[f"sdk_sequential_{tasks}"] = periodic
                out["sdk_flow_counters"][f"sequential_{tasks}"] = d  # plain HTTP: the local path is AWS's
            sdk_ms = per_task_overhead_ms(out["sdk_flows"])
            prefect_ms = per_task_overhead_ms(out.get("client_flows", []))
            sdk_rec = per_task_until_recorded_ms(out["sdk_flows"])
            prefect_rec = per_task_until_recorded_ms(out.get("client_flows", []))
            out["sdk_vs_prefect_per_task"] = {
                "serverflow_ms": sdk_ms,
                "prefect_ms": prefect_ms,
                "ratio": round(sdk_ms / prefect_ms, 3) if sdk_ms is not None and prefect_ms else None,
                "target_ratio_max": 0.5,
                # Until every task run is recorded, completed (the server records both clients' events asynchronously;
                # the SDK's flow waits for its events to be acknowledged, prefect's does not).
                "until_recorded": {
                    "serverflow_ms": sdk_rec,
                    "prefect_ms": prefect_rec,
                    "ratio": round(sdk_rec / prefect_rec, 3) if sdk_rec is not None and prefect_rec else None,
                },
            }
        if counters and out.get("client_flow_counters"):
            out.setdefault("floor", {}).update(client_floor(out["client_flow_counters"], args.tasks))
        if counters:
            # After the load a tick catches up on what it left (the late-runs function marks thousands of
            # past-due seeded runs Late, over several ticks): recorded, not priced as idle.
            log(f"[{kind}] scheduled functions: one tick each after the load")
            out["ticks_after_load"] = tick(counters)
        out["server"]["rss_after_mb"] = srv.rss_mb()
    except Exception as e:  # noqa: BLE001 - record and go on with the other side
        out["error"] = f"{type(e).__name__}: {e}"[:2000]
        out["traceback"] = traceback.format_exc()[-4000:]
        log(f"[{kind}] FAILED: {out['error'][:500]}")
    finally:
        if srv is not None:
            srv.stop()
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


async def _api(
    api_url: str, cfg: ApiConfig, seed_concurrency: int, probe: CountersProbe | None, bulk: BulkSeed | None
) -> dict[str, Any]:
    async with make_client(api_url, cfg.concurrency) as client:
        return await run_api_bench(client, cfg, seed_concurrency, log=log, probe=probe, bulk=bulk)


def bulk_seeder(kind: str, srv: ServerProc, max_seconds: float) -> BulkSeed | None:
    """Unmeasured bulk seeding through each server's own storage code path (bench/seed.py)."""
    if kind == "reference":
        env = reference_env(srv.home.name)

        async def ref(bodies: list[dict[str, Any]]) -> list[str]:
            return await asyncio.to_thread(ref_seed, env, bodies, max_seconds)

        return ref
    counters = srv.extra.get("counters_url")
    if not counters:
        return None

    async def sf(bodies: list[dict[str, Any]]) -> list[str]:
        ids: list[str] = []
        async with httpx.AsyncClient(timeout=max_seconds) as c:
            for k in range(0, len(bodies), 1000):
                r = (await c.post(f"{counters}/seed", json=bodies[k : k + 1000])).json()
                if r.get("error"):
                    raise RuntimeError(f"serverflow seeder failed: {r['error']}")
                ids += r["ids"]
        return ids

    return sf


def build_cost(sf: dict[str, Any], tasks: int) -> dict[str, Any]:
    prices = costmod.load_prices()
    mem, arch = costmod.lambda_conf(prices)
    out: dict[str, Any] = {
        "prices": {k: prices[k] for k in ("region", "as_of", "source")},
        "lambda_memory_mb": mem,
        "lambda_arch": arch,
    }
    fc = sf.get("client_flow_counters") or {}
    out.update(costmod.run_costs(fc.get("sequential_0"), fc.get(f"sequential_{tasks}"), tasks, prices))
    aws = sf.get("client_flow_counters_aws") or {}
    if aws:
        # The bill AWS sends: every websocket frame its own invocation (with its own DynamoDB work).
        out["aws_path"] = costmod.run_costs(aws.get("sequential_0"), aws.get(f"sequential_{tasks}"), tasks, prices)
        out["storage_floor"] = storage_floor.breakdown(aws.get("sequential_0"), aws.get(f"sequential_{tasks}"), tasks)
        out["storage"] = costmod.storage_cost(out["storage_floor"], prices)
    sdk = sf.get("sdk_flow_counters") or {}
    if sdk:
        out["sdk"] = costmod.run_costs(sdk.get("sequential_0"), sdk.get(f"sequential_{tasks}"), tasks, prices)
        # The SDK speaks plain HTTP: its counters are already the AWS path's.
        out["sdk_storage_floor"] = storage_floor.breakdown(
            sdk.get("sequential_0"), sdk.get(f"sequential_{tasks}"), tasks
        )
        out["sdk_storage"] = costmod.storage_cost(out["sdk_storage_floor"], prices)
    if "ticks" in sf and not any(t.get("error") and "name" not in t for t in sf["ticks"]):
        # A tick that failed measured nothing useful: priced at the default tick time, listed as failed.
        ticks = [
            t if not t.get("error") else {k: v for k, v in t.items() if k not in ("seconds", "rru", "wru")}
            for t in sf["ticks"]
            if "name" in t
        ]
        out["idle"] = costmod.idle_cost(ticks, prices)
        out["idle"]["failed_ticks"] = [t["name"] for t in sf["ticks"] if t.get("error")]
    out["per_op"] = {
        op: costmod.per_op_cost(routes, sf["floor"][op]["requests"], prices)
        for op, routes in (sf.get("counters_per_op") or {}).items()
    }
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    t0 = time.perf_counter()
    cfg = ApiConfig(
        n=args.n,
        concurrency=args.concurrency,
        store_runs=args.store_runs,
        filter_n=args.filter_n,
        max_seconds_per_op=args.max_seconds_per_op,
        seed_max_seconds=args.seed_max_seconds,
    )
    res: dict[str, Any] = {
        "meta": {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "commit": git_commit(),
            "mode": "smoke" if args.smoke else "full",
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "api_config": asdict(cfg),
            "tasks": args.tasks,
            "argv": sys.argv[1:] if argv is None else argv,
        }
    }
    if "imports" not in args.skip:
        log("[imports] cold import times")
        res["imports"] = import_report(args.import_repeats, handler_limit=3 if args.smoke else None)
    # Serverflow first: the reference then stores as many runs as Serverflow managed to (the seeding of each
    # side is time-bounded), so both filters are measured over the same store size.
    sides = [k for k in ("serverflow", "reference") if k not in args.skip]
    # Both servers start together (startup is mostly waiting); each is then measured alone, the other idle,
    # and stopped as soon as its turn ends.
    with ThreadPoolExecutor(max_workers=2) as pool:
        started = {kind: pool.submit(start, kind) for kind in sides}
        try:
            for kind in sides:
                stored = _stored(res)
                side_cfg = replace(cfg, store_runs=min(cfg.store_runs, stored)) if stored else cfg
                res[kind] = bench_side(kind, args, side_cfg, started[kind])
        finally:
            for fut in started.values():
                if fut.done() and fut.exception() is None:
                    fut.result().stop()
    ref_ops = (res.get("reference") or {}).get("api", {}).get("ops", {})
    sf_ops = (res.get("serverflow") or {}).get("api", {}).get("ops", {})
    res["ratios"] = {"api": api_ratios(ref_ops, sf_ops)}
    if res.get("serverflow") and "floor" in res["serverflow"]:
        try:
            res["cost"] = build_cost(res["serverflow"], args.tasks)
        except Exception as e:  # noqa: BLE001 - a failed cost estimate is recorded in the report, the run's figures stand
            res["cost"] = {"error": repr(e)}
    res["meta"]["duration_s"] = round(time.perf_counter() - t0, 1)
    path = write_json(res, RESULTS_DIR if args.out is None else Path(args.out))
    print(render(res))
    print(f"\nJSON: {path}")
    return res


if __name__ == "__main__":
    main()
