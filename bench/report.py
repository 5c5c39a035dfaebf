"""Print the side-by-side table and write the JSON results."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from bench import storage_floor

RESULTS_DIR = Path(__file__).with_name("results")


def _f(v: Any, nd: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False))
    out = [line, "-" * len(line)]
    out += [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=False)))
        for r in rows
    ]
    return "\n".join(out)


def api_ratios(ref_ops: dict[str, Any], sf_ops: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    out = {}
    for op in ref_ops.keys() | sf_ops.keys():
        r, s = ref_ops.get(op, {}), sf_ops.get(op, {})
        out[op] = {
            "p50_sf_over_ref": ratio(s.get("p50_ms"), r.get("p50_ms")),
            "p95_sf_over_ref": ratio(s.get("p95_ms"), r.get("p95_ms")),
            "throughput_sf_over_ref": ratio(s.get("throughput_rps"), r.get("throughput_rps")),
        }
    return out


def _err(o: dict[str, Any]) -> str:
    """errors/requests sent, * when the time bound stopped the operation early."""
    if not o:
        return "-"
    return f"{o.get('errors')}/{o.get('requests')}" + ("*" if o.get("truncated") else "")


def api_table(res: dict[str, Any]) -> str:
    ref_ops = (res.get("reference") or {}).get("api", {}).get("ops", {})
    sf_ops = (res.get("serverflow") or {}).get("api", {}).get("ops", {})
    ops = list(dict.fromkeys([*ref_ops, *sf_ops]))
    ratios = api_ratios(ref_ops, sf_ops)
    rows = []
    for op in ops:
        r, s, q = ref_ops.get(op, {}), sf_ops.get(op, {}), ratios[op]
        rows.append(
            [
                op,
                _f(r.get("p50_ms")),
                _f(r.get("p95_ms")),
                _f(r.get("throughput_rps")),
                _err(r),
                _f(s.get("p50_ms")),
                _f(s.get("p95_ms")),
                _f(s.get("throughput_rps")),
                _err(s),
                _f(q["p50_sf_over_ref"], 2),
                _f(q["throughput_sf_over_ref"], 2),
            ]
        )
    return _table(
        [
            "operation",
            "ref p50ms",
            "ref p95ms",
            "ref rps",
            "ref err",
            "sf p50ms",
            "sf p95ms",
            "sf rps",
            "sf err",
            "p50 sf/ref",
            "rps sf/ref",
        ],
        rows,
    )


def client_table(res: dict[str, Any]) -> str:
    ref = {c.get("mode"): c for c in (res.get("reference") or {}).get("client_flows", []) if c.get("tasks")}
    sf = {c.get("mode"): c for c in (res.get("serverflow") or {}).get("client_flows", []) if c.get("tasks")}
    rows = []
    for mode in dict.fromkeys([*ref, *sf]):
        r, s = ref.get(mode, {}), sf.get(mode, {})
        rows.append(
            [
                f"{mode} ({(r or s).get('tasks')} tasks)",
                _f(r.get("flow_wall_s"), 2),
                _f(s.get("flow_wall_s"), 2),
                _f(ratio(s.get("flow_wall_s"), r.get("flow_wall_s")), 2),
                _f(r.get("subprocess_wall_s"), 2),
                _f(s.get("subprocess_wall_s"), 2),
                _f(ratio(s.get("subprocess_wall_s"), r.get("subprocess_wall_s")), 2),
                f"{_f(r.get('task_runs_recorded'))}/{_f(r.get('recorded_after_exit_s'), 1)}s",
                f"{_f(s.get('task_runs_recorded'))}/{_f(s.get('recorded_after_exit_s'), 1)}s",
                f"{r.get('state', r.get('error', '-'))}|{s.get('state', s.get('error', '-'))}",
            ]
        )
    return _table(
        [
            "real prefect client flow",
            "ref flow s",
            "sf flow s",
            "sf/ref",
            "ref proc s",
            "sf proc s",
            "sf/ref",
            "ref recorded",
            "sf recorded",
            "state ref|sf",
        ],
        rows,
    )


def floor_table(res: dict[str, Any]) -> str:
    floor = (res.get("serverflow") or {}).get("floor", {})
    rows = []
    for op, f in floor.items():
        read = (
            f"{_f(f.get('items_read_per_op'))}/{_f(f.get('items_returned_by_ddb_per_op'))}"
            if "items_read_per_op" in f
            else ""
        )
        ops = " ".join(f"{k}={v:g}" for k, v in f.get("ddb_ops_per_op", {}).items())
        rows.append(
            [
                op,
                _f(f.get("http_requests_per_op"), 2),
                _f(f.get("ws_messages_per_op"), 2),
                _f(f.get("ddb_calls_per_op"), 2),
                _f(f.get("rru_per_op"), 2),
                _f(f.get("wru_per_op"), 2),
                read,
                _f(f.get("server_ms_mean"), 1),
                _f(f.get("ddb_ms_per_op"), 1),
                _f(f.get("botocore_clients_created_per_op"), 2),
                ops,
            ]
        )
    return _table(
        [
            "serverflow (per op)",
            "http",
            "ws msgs",
            "ddb calls",
            "RRU~",
            "WRU~",
            "items read/returned",
            "server ms",
            "ddb ms",
            "new clients",
            "DynamoDB calls by API",
        ],
        rows,
    ) + (
        "\n  RRU~/WRU~: estimated from item sizes (DynamoDB sizing rules, GSIs with ALL projection, x2 in"
        " transactions); items read/returned: Query ScannedCount/Count; new clients: botocore clients built"
        " per op"
        if rows
        else ""
    )


def ui_table(res: dict[str, Any]) -> str:
    """The UI's queries: items each request reads (every item, by key or Query) per item it returns."""
    sf = res.get("serverflow") or {}
    floor, setup = sf.get("floor", {}), (sf.get("api") or {}).get("setup", {})
    rows = []
    for op, f in floor.items():
        if not (op.startswith("ui_") or op == "flow_run_graph_v2"):
            continue
        returned = setup.get(f"{op}_returned")
        read, anchors = f.get("items_read_all_per_op", 0.0), f.get("index_anchors_read_per_op", 0.0)
        counted = isinstance(returned, int) and returned > 0
        per_item = _f(read / returned, 2) if counted else "-"
        anchors_per_item = _f(anchors / returned, 2) if counted else "-"
        rows.append(
            [op, _f(read, 2), _f(anchors, 2), str(returned), per_item, anchors_per_item, _f(f.get("server_ms_mean"), 1)]
        )
    return _table(
        [
            "UI query (serverflow)",
            "items read/request",
            "anchors/request",
            "items returned",
            "read per returned",
            "anchors per returned",
            "server ms",
        ],
        rows,
    ) + (
        "\n  items read: Query ScannedCount + GetItem/BatchGetItem items, but index anchors (flow runs' anchors and"
        " the task-run guards listing a flow run's task runs: index entries listed in place of their runs, each"
        " followed by a read of its run), counted apart; target <= 1.5 per item returned"
        if rows
        else ""
    )


def import_table(res: dict[str, Any]) -> str:
    imp = res.get("imports") or {}
    rows = [
        [h["module"], _f(h.get("min_ms")), _f(h.get("median_ms")), _f(h.get("modules_loaded")), h.get("error", "")[:60]]
        for h in imp.get("handlers", [])
    ]
    for label, pair in (imp.get("sdk_vs_prefect") or {}).items():
        for side in ("serverflow", "prefect"):
            p = pair.get(side, {})
            rows.append(
                [
                    p.get("stmt", f"{side} {label}"),
                    _f(p.get("min_ms")),
                    _f(p.get("median_ms")),
                    _f(p.get("modules_loaded")),
                    p.get("error", "")[:60],
                ]
            )
        rows.append([f"  ratio serverflow/prefect ({label})", _f(pair.get("serverflow_over_prefect"), 4), "", "", ""])
    table = _table(["cold import (fresh interpreter)", "min ms", "median ms", "modules", "error"], rows)
    return table + "\n\n" + lambda_import_table(imp.get("lambda_layout") or {})


def lambda_import_table(lay: dict[str, Any]) -> str:
    """Issue #13's target: each handler's cold import in the pip --target layout, in CPU ms."""
    if lay.get("error"):
        return f"Lambda layout: {lay['error']}"
    target = lay.get("target_cpu_ms", 300)
    rows = [
        [
            h["module"],
            _f(h.get("cpu_min_ms")),
            _f(h.get("cpu_median_ms")),
            _f(h.get("wall_min_ms")),
            _f(h.get("modules_loaded")),
            ("ok" if h.get("meets_target") else "OVER") if "cpu_min_ms" in h else "",
            h.get("error", "")[:60],
        ]
        for h in lay.get("handlers", [])
    ]
    floor = lay.get("floor") or {}
    if "cpu_min_ms" in floor:
        rows.append(
            [
                "(floor: fastapi, pydantic.v1, pynamodb+botocore, powertools; none of ours)",
                _f(floor.get("cpu_min_ms")),
                _f(floor.get("cpu_median_ms")),
                _f(floor.get("wall_min_ms")),
                _f(floor.get("modules_loaded")),
                "",
                "",
            ]
        )
    parts = lay.get("floor_parts") or []
    parts_table = _table(
        ["the floor, piece by piece (CPU each adds, one interpreter)", "CPU min ms", "error"],
        [[p["part"], _f(p.get("cpu_min_ms")), p.get("error", "")[:60]] for p in parts],
    )
    return _table(
        [
            f"cold import, Lambda layout (python -S, pip --target, shipped .pyc; target <= {_f(target)} ms CPU)",
            "CPU min ms",
            "CPU median ms",
            "wall min ms",
            "modules",
            "target",
            "error",
        ],
        rows,
    ) + ("\n\n" + parts_table if parts else "")


# Issue #13's targets, priced on the path AWS runs.
COST_TARGETS = (
    ("per_million_task_runs", "$ per 1M task runs, real prefect client", 8.0),
    ("per_million_flow_runs", "$ per 1M flow runs, real prefect client, no tasks", 50.0),
)


def cost_targets(cost: dict[str, Any]) -> list[str]:
    aws = cost.get("aws_path") or {}
    rows = []
    for key, label, target in COST_TARGETS:
        total = (aws.get(key) or {}).get("total")
        verdict = "-" if total is None else ("met" if total <= target else "NOT met")
        rows.append(f"  target {label}: <= {target:.2f}, measured {_f(total, 2)} (AWS path): {verdict}")
    sdk_total = ((cost.get("sdk") or {}).get("per_million_task_runs") or {}).get("total")
    verdict = "-" if sdk_total is None else ("met" if sdk_total <= 2.0 else "NOT met")
    rows.append(f"  target $ per 1M task runs, Serverflow SDK: <= 2.00, measured {_f(sdk_total, 2)}: {verdict}")
    idle = (cost.get("idle") or {}).get("usd_per_month")
    rows.append(
        f"  target $ per month at idle (beyond storage): 0.00 for metrics and traces; "
        f"measured {_f(idle, 2)} for the scheduled functions' invocations"
    )
    return rows


def ws_replay_line(res: dict[str, Any]) -> str | None:
    """The AWS-path websocket replay of the largest client flow, per invocation: the wall time priced, beside the
    CPU of the handler's own thread (bench/ws_replay.py), which load and the emulator barely move."""
    flows = [
        f
        for f in (res.get("serverflow") or {}).get("client_flows") or []
        if (f.get("aws_ws_replay") or {}).get("invocations")
    ]
    if not flows:
        return None
    replay = max(flows, key=lambda f: f.get("tasks") or 0)["aws_ws_replay"]
    n = replay["invocations"]
    cpu = replay.get("cpu_seconds")
    return (
        f"  AWS-path websocket invocations ({n}): {1000 * replay['seconds'] / n:.2f} ms wall each (priced; mostly "
        f"the DynamoDB round trip to the emulator), {'-' if cpu is None else f'{1000 * cpu / n:.2f}'} ms CPU of the "
        "handler's thread"
    )


def cost_table(res: dict[str, Any]) -> str:
    cost = res.get("cost") or {}
    if not cost:
        return "  (no cost model: Serverflow not measured)"
    if "error" in cost:
        return f"  (cost model failed: {cost['error']})"
    lines = []
    for label, source in (
        ("local socket (batched frames)", cost),
        ("AWS path (one invocation per frame)", cost.get("aws_path") or {}),
    ):
        for key in ("per_million_flow_runs", "per_million_task_runs"):
            c = source.get(key)
            if c:
                parts = ", ".join(f"{k} {v:.2f}" for k, v in c.items() if k != "total" and v >= 0.005)
                lines.append(f"  $ {key.replace('_', ' ')}, {label}: {c['total']:.2f}   ({parts})")
    replay_line = ws_replay_line(res)
    if replay_line:
        lines.append(replay_line)
    idle = cost.get("idle")
    if idle:
        lines.append(
            f"  $ per month at idle: {idle['usd_per_month']:.2f} "
            f"({len(idle['scheduled_functions'])} scheduled functions); "
            f"+ {idle['per_polling_worker_usd_per_month']:.2f} per always-on SQS-polling worker"
        )
    per_op = cost.get("per_op") or {}
    if per_op:
        lines.append(
            "  $ per 1M API operations: " + ", ".join(f"{k} {v['usd_per_million']:.2f}" for k, v in per_op.items())
        )
    for client, storage in (("", cost.get("storage") or {}), ("SDK ", cost.get("sdk_storage") or {})):
        for key in ("per_million_flow_runs", "per_million_task_runs"):
            st = storage.get(key)
            if st:
                lines.append(
                    f"  storage {client}{key.replace('_', ' ')}: {st['kept_usd_per_month']:.2f} per month while kept, "
                    f"+ {st['expiring_usd_once']:.2f} once for what expires "
                    f"(~{storage['retention_days_assumed'] + 2:.0f} days)"
                )
    lines += cost_targets(cost)
    p = cost.get("prices", {})
    lines.append(
        f"  prices: {p.get('region')} as of {p.get('as_of')} (bench/prices.json); "
        f"Lambda {cost.get('lambda_memory_mb')} MB {cost.get('lambda_arch')}"
    )
    return "\n".join(lines) if lines else "  (no cost model: Serverflow not measured)"


def _stored(res: dict[str, Any], side: str) -> Any:
    return ((res.get(side) or {}).get("api") or {}).get("setup", {}).get("stored_runs", "-")


def push_latency_line(res: dict[str, Any]) -> str:
    lat = (res.get("serverflow") or {}).get("worker_latency") or {}
    if not lat or lat.get("error"):
        return f"Push latency (Serverflow only): {lat.get('error', 'not measured')}"
    return (
        f"Push latency (Serverflow only): create_flow_run -> PENDING in an idle `serverflow worker` over SQS, "
        f"API polling off: p50 {_f(lat.get('create_to_pending_p50_s'), 3)} s, max {_f(lat.get('create_to_pending_max_s'), 3)} s "
        f"over {lat.get('runs', '?')} runs"
    )


def sdk_line(res: dict[str, Any]) -> str:
    """The SDK's targets: per-task overhead <= 1/2 of prefect's (same flow, same server), import <= 1/4."""
    per_task = (res.get("serverflow") or {}).get("sdk_vs_prefect_per_task") or {}
    imports = ((res.get("imports") or {}).get("sdk_vs_prefect") or {}).get("import") or {}
    rec = per_task.get("until_recorded") or {}
    return (
        f"SDK vs prefect (same 200-task sequential flow, same Serverflow server): per-task overhead "
        f"{_f(per_task.get('serverflow_ms'), 3)} ms vs {_f(per_task.get('prefect_ms'), 3)} ms, ratio "
        f"{_f(per_task.get('ratio'), 3)} (target <= {per_task.get('target_ratio_max', 0.5)}); import ratio "
        f"{_f(imports.get('serverflow_over_prefect'), 4)} (target <= 0.25)\n"
        f"  per task until every task run is recorded, completed (both flows return before; the SDK's once its events "
        f"are acknowledged): "
        f"{_f(rec.get('serverflow_ms'), 3)} ms vs {_f(rec.get('prefect_ms'), 3)} ms, ratio {_f(rec.get('ratio'), 3)}"
    )


def render(res: dict[str, Any]) -> str:
    m = res.get("meta", {})
    parts = [
        f"Serverflow bench  {m.get('started')}  commit {m.get('commit')}  mode {m.get('mode')}  "
        f"cpus {m.get('cpus')}  total {m.get('duration_s')} s"
    ]
    for side in ("reference", "serverflow"):
        if side not in res:
            continue
        s = res[side] or {}
        srv = s.get("server", {})
        parts.append(
            f"  {side}: {s.get('error') or 'ok'}  startup {srv.get('startup_s')} s  "
            f"RSS idle {srv.get('rss_idle_mb')} MB / after {srv.get('rss_after_mb')} MB  "
            f"setup {s.get('api', {}).get('setup', {}).get('seed_runs')}"
        )
    cfg = m.get("api_config", {})
    parts += [
        "",
        f"REST API, loopback, concurrency {cfg.get('concurrency')}, {cfg.get('n')} requests/op "
        f"({cfg.get('filter_n')} per filter, limit {cfg.get('filter_limit')}), "
        f"filters with {cfg.get('store_runs')} runs stored (target; actual: "
        f"ref {_stored(res, 'reference')}, sf {_stored(res, 'serverflow')}); "
        f"err = errors/requests sent, * = stopped by the {cfg.get('max_seconds_per_op')} s bound",
        api_table(res),
        "",
        client_table(res),
        "",
        floor_table(res),
        "",
        ui_table(res),
        "",
        push_latency_line(res),
        "",
        import_table(res),
        "",
        sdk_line(res),
        "",
        "Cost model (AWS list prices, on-demand):",
        cost_table(res),
        "",
        *storage_floor_sections(res),
        periodic_line(res),
    ]
    return "\n".join(parts)


# Each client's storage floor in the cost model (bench/run.py build_cost): its key, whose flows, whose task runs.
STORAGE_FLOORS = (
    ("storage_floor", "AWS path, real prefect client", "task runs"),
    ("sdk_storage_floor", "Serverflow SDK, plain HTTP as on AWS", "SDK task runs"),
)


def storage_floor_sections(res: dict[str, Any]) -> list[str]:
    """The storage floor of the real prefect client's flows, then of the SDK's: the same breakdown and hot-key
    verdict for each."""
    cost = res.get("cost") or {}
    lines: list[str] = []
    for key, label, task_runs in STORAGE_FLOORS:
        floor = cost.get(key) or {}
        tasks = f"{floor['tasks']}-task sequential flow, " if floor.get("tasks") else ""
        lines += [f"Storage floor ({label}, {tasks}bench/storage_floor.py):", storage_floor.render(floor, task_runs)]
    return lines


def periodic_line(res: dict[str, Any]) -> str:
    """The observed-state pairs' once-a-minute writes seen during the measured flows, left out of the per-run
    figures (bench/cost.py `split_periodic`): they are billed per API process-minute, not per run."""
    seen = (res.get("serverflow") or {}).get("periodic_wru") or {}
    if not seen:
        return ""
    flows = ", ".join(f"{k} {v:g}" for k, v in sorted(seen.items()))
    return (
        "  periodic writes left out of the per-run figures (observed-state pairs, at most once a minute per API "
        f"process and pair, ~1.5 WRU each): WRU seen during the measured flows: {flows}"
    )


def write_json(res: dict[str, Any], out_dir: Path = RESULTS_DIR) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"bench-{time.strftime('%Y%m%d-%H%M%S')}-{res.get('meta', {}).get('mode', 'full')}.json"
    path.write_text(json.dumps(res, indent=2, default=str))
    (out_dir / "latest.json").write_text(path.read_text())
    return path
