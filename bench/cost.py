"""Cost model: measured per-route work (requests, server time, DynamoDB units) x AWS list prices."""

from __future__ import annotations

import fnmatch
import json
import math
from pathlib import Path
from typing import Any

PRICES_PATH = Path(__file__).with_name("prices.json")
Routes = dict[str, dict[str, Any]]


def load_prices(path: Path = PRICES_PATH) -> dict[str, Any]:
    prices: dict[str, Any] = json.loads(path.read_text())
    return prices


def lambda_conf(prices: dict[str, Any]) -> tuple[int, str]:
    """Memory (MB) and architecture from template.yaml Globals, else the prices.json defaults."""
    a = prices["assumptions"]
    mem, arch = int(a["lambda_memory_mb_default"]), str(a["lambda_architecture_default"])
    try:
        from infra.template import load_template

        g = load_template().get("Globals", {}).get("Function", {})
        mem = int(g.get("MemorySize", mem))
        arch = str((g.get("Architectures") or [arch])[0])
    except Exception:  # noqa: BLE001 - template absent or unreadable: keep defaults
        pass
    return mem, arch


def diff_routes(after: Routes, before: Routes) -> Routes:
    """Counters accumulated between two /counters snapshots."""
    out: Routes = {}
    for route, a in after.items():
        b = before.get(route, {})
        d = {k: (v - b.get(k, 0)) for k, v in a.items() if isinstance(v, (int, float))}
        d["ops"] = {op: n - b.get("ops", {}).get(op, 0) for op, n in a.get("ops", {}).items()}
        d["ops"] = {k: v for k, v in d["ops"].items() if v}
        for breakdown in ("wru_by", "put_bytes_by", "puts_by", "wru_by_key"):
            if breakdown in a:
                delta = {n: v - b.get(breakdown, {}).get(n, 0) for n, v in a[breakdown].items()}
                d[breakdown] = {n: round(v, 3) for n, v in delta.items() if v}
        if any(v for k, v in d.items() if not isinstance(v, dict)) or d["ops"]:
            out[route] = d
    return out


# Item kinds a process writes on a clock, not per run: `observed_states` writes each state pair at most once a
# minute per API process (its THROTTLE). Whether one such write falls inside a measured flow is luck of the
# minute, so the per-run figures leave them out and the report prices them per process-minute instead.
PERIODIC_KINDS = ("OBSERVED_STATE",)


def split_periodic(routes: Routes) -> tuple[Routes, float]:
    """`routes` without the periodic kinds' writes, and the write units those took."""
    out: Routes = {}
    taken = 0.0
    for route, r in routes.items():
        r = {k: (dict(v) if isinstance(v, dict) else v) for k, v in r.items()}
        for kind in [k for k in r.get("wru_by", {}) if k.split(":", 1)[-1].startswith(PERIODIC_KINDS)]:
            units = r["wru_by"].pop(kind)
            r["wru"] = r.get("wru", 0.0) - units
            taken += units
        for kind in [k for k in r.get("puts_by", {}) if k.startswith(PERIODIC_KINDS)]:
            puts = r["puts_by"].pop(kind)
            r["ddb_calls"] = r.get("ddb_calls", 0) - puts
            r["stored_kept"] = max(0.0, r.get("stored_kept", 0.0) - r.get("put_bytes_by", {}).pop(kind, 0.0))
        for key in [k for k in r.get("wru_by_key", {}) if any(f" {p}" in k for p in PERIODIC_KINDS)]:
            r["wru_by_key"].pop(key)
        out[route] = r
    return out, round(taken, 3)


def tracing_default() -> bool:
    """Whether template.yaml deploys with X-Ray on (its `Tracing` parameter's default)."""
    try:
        from infra.template import load_template

        return str(load_template().get("Parameters", {}).get("Tracing", {}).get("Default", "Active")) == "Active"
    except Exception:  # noqa: BLE001 - no template: assume the costlier setting
        return True


# Lambda's platform records (START, REPORT) go to CloudWatch Logs only at SystemLogLevel INFO or DEBUG.
VERBOSE_SYSTEM_LEVELS = {"INFO", "DEBUG"}


def _parameter_default(name: str, fallback: str) -> str:
    try:
        from infra.template import load_template

        return str(load_template().get("Parameters", {}).get(name, {}).get("Default", fallback))
    except Exception:  # noqa: BLE001 - no template: the fallback (the costlier setting)
        return fallback


def platform_log_bytes(prices: dict[str, Any]) -> float:
    """Bytes of platform records per invocation at the template's default `SystemLogLevel` (0 at WARN)."""
    if _parameter_default("SystemLogLevel", "INFO").upper() in VERBOSE_SYSTEM_LEVELS:
        return float(prices["assumptions"]["platform_log_bytes_per_invocation"])
    return 0.0


def application_log_level() -> str:
    """The functions' own log level as deployed (template parameter `ApplicationLogLevel`'s default)."""
    return _parameter_default("ApplicationLogLevel", "INFO").upper()


CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CloudFront's managed CachingDisabled policy


def _distribution() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """template.yaml's resources and its CloudFront distribution's path behaviours, in CloudFront's order."""
    try:
        from infra.template import load_template

        found = load_template()["Resources"]
        behaviours: list[dict[str, Any]] = found["Distribution"]["Properties"]["DistributionConfig"]["CacheBehaviors"]
    except Exception:  # noqa: BLE001 - no template: no behaviours (nothing cached, no functions)
        return {}, []
    return found, behaviours


def edge_cached_paths() -> list[str]:
    """Path patterns of the REST behaviours template.yaml lets CloudFront cache (their cache policy is not
    CachingDisabled): a GET there is answered from the edge cache, the origin asked once per TTL per edge."""
    return [
        str(b["PathPattern"])
        for b in _distribution()[1]
        if b.get("TargetOriginId") == "rest" and b.get("CachePolicyId") != CACHING_DISABLED
    ]


def _viewer_function_code(behaviour: dict[str, Any], found: dict[str, Any]) -> str | None:
    for association in behaviour.get("FunctionAssociations", []):
        if association.get("EventType") == "viewer-request":
            code = found[association["FunctionARN"]["Fn::GetAtt"][0]]["Properties"]["FunctionCode"]
            return str(code["Fn::Sub"] if isinstance(code, dict) else code)
    return None


def edge_function_paths() -> list[str]:
    """Path patterns of the behaviours that run a CloudFront Function on every viewer request (the websocket
    upgrades' path rewrite, /ui-settings, /api/csrf-token): one function invocation per request."""
    found, behaviours = _distribution()
    return [str(b["PathPattern"]) for b in behaviours if _viewer_function_code(b, found) is not None]


def edge_answered_paths() -> list[str]:
    """Path patterns of the REST behaviours whose viewer-request function answers GETs itself (its code returns
    a response, a `statusCode`, not the request): neither API Gateway nor Lambda sees them. There it answers what
    the prefect client sends (GET /api/csrf-token?client=...; tests/infra/test_csrf_edge.py), the bench's requests."""
    found, behaviours = _distribution()
    return [
        str(b["PathPattern"])
        for b in behaviours
        if b.get("TargetOriginId") == "rest" and "statusCode" in (_viewer_function_code(b, found) or "")
    ]


def _edge_cached(route: str, paths: list[str]) -> bool:
    method, _, path = route.partition(" ")
    return method in ("GET", "HEAD") and any(fnmatch.fnmatchcase(path, p) for p in paths)


def _edge_answered(route: str, paths: list[str]) -> bool:
    method, _, path = route.partition(" ")
    return method == "GET" and any(fnmatch.fnmatchcase(path, p) for p in paths)


def _runs_edge_function(route: str, paths: list[str]) -> bool:
    """Whether a request on `route` ("GET /api/x", "WS /api/events/in", "WS aws:/api/events/in") passes a
    behaviour with a viewer-request function."""
    path = route.partition(" ")[2].removeprefix("aws:")
    return any(fnmatch.fnmatchcase(path, p) for p in paths)


AWS_WS_PREFIX = "WS aws:"
# A stream-fed function's batches (bench/sf_server.py): one Lambda invocation each, no API Gateway or CloudFront.
STREAM_PREFIX = "stream:"


def on_aws_path(local: Routes, replayed: Routes) -> Routes:
    """A flow's counters with its local websocket work (one process, batched frames) replaced by the same
    frames replayed through the websocket Lambda, one invocation each (bench/ws_replay.py)."""
    out = {k: v for k, v in local.items() if not k.startswith("WS ")}
    out.update({k: v for k, v in replayed.items() if k.startswith(AWS_WS_PREFIX)})
    return out


def cost_of(routes: Routes, prices: dict[str, Any], include_background: bool = False) -> dict[str, float]:
    """$ for the work in `routes`: every HTTP request = a CloudFront request + an API Gateway HTTP request + a
    Lambda invocation billed for its measured server time; every websocket message = a WebSocket message + a
    Lambda invocation (replayed routes "WS aws:..." carry their own measured time per invocation; the local
    batched socket is priced at an assumed time per message); every batch of a stream-fed function ("stream:...",
    e.g. the task-run recorder) = a Lambda invocation billed for its measured time (the local reader polls every
    50 ms, Lambda ~4x/s per shard: AWS batches are as large or larger, so this is an upper bound); X-Ray only
    when the template turns it on. A request on a behaviour that runs a CloudFront Function adds an invocation of
    it; one the function answers itself (edge_answered_paths) or CloudFront's cache serves (edge_cached_paths) is
    a CloudFront request only."""
    mem_mb, arch = lambda_conf(prices)
    gb = mem_mb / 1024
    lam, a = prices["lambda"], prices["assumptions"]
    per_gbs = lam[f"per_gb_second_{arch.replace('-', '_')}"]
    ws_msgs = invocations = http_req = viewer_total = edge_functions = 0
    gb_s = conn_min = rru = wru = app_log_bytes = 0.0
    cached_paths, answered_paths, function_paths = edge_cached_paths(), edge_answered_paths(), edge_function_paths()
    for route, r in routes.items():
        if route == "background" and not include_background:
            continue
        rru += r.get("rru", 0.0)
        wru += r.get("wru", 0.0)
        app_log_bytes += r.get("log_bytes", 0.0)
        viewer_requests = 0  # what passes CloudFront: HTTP requests and websocket upgrades
        if route.startswith(AWS_WS_PREFIX):
            # One invocation per message ($connect, auth, frames, $disconnect), each billed for its own time.
            n = r.get("ws_messages", 0)
            ws_msgs += n
            invocations += n
            viewer_requests = 1 if n else 0
            gb_s += (r.get("server_s", 0.0) + n * lam["billing_granularity_ms"] / 2000) * gb
        elif route.startswith(STREAM_PREFIX):
            n = r.get("requests", 0)
            invocations += n
            gb_s += (r.get("server_s", 0.0) + n * lam["billing_granularity_ms"] / 2000) * gb
        elif route.startswith("WS "):
            conn_min += r.get("server_s", 0.0) / 60
            ws_msgs += r.get("ws_messages", 0)
            invocations += r.get("ws_messages", 0)
            viewer_requests = r.get("requests", 0)
            gb_s += r.get("ws_messages", 0) * a["lambda_ms_per_ws_message"] / 1000 * gb
        elif route != "background" and (_edge_answered(route, answered_paths) or _edge_cached(route, cached_paths)):
            # Answered at the edge, by the behaviour's CloudFront Function or from CloudFront's cache (at a
            # million runs a month the origin's once per TTL per edge location is noise): neither API Gateway
            # nor Lambda (nor the measured server time) is billed.
            viewer_requests = r.get("requests", 0)
        elif route != "background":
            n = viewer_requests = r.get("requests", 0)
            http_req += n
            invocations += n
            billed_s = r.get("server_s", 0.0) + n * lam["billing_granularity_ms"] / 2000  # round-up, on average
            gb_s += billed_s * gb
        viewer_total += viewer_requests
        if _runs_edge_function(route, function_paths):
            edge_functions += viewer_requests  # the behaviour's viewer-request CloudFront Function
    m = 1e6
    c = {
        "api_gateway_http": http_req / m * prices["api_gateway_http"]["per_million_requests"],
        "api_gateway_websocket": ws_msgs / m * prices["api_gateway_websocket"]["per_million_messages"]
        + conn_min / m * prices["api_gateway_websocket"]["per_million_connection_minutes"],
        "lambda_requests": invocations / m * lam["per_million_requests"],
        "lambda_compute": gb_s * per_gbs,
        "dynamodb_read": rru / m * prices["dynamodb_on_demand"]["per_million_rru"],
        "dynamodb_write": wru / m * prices["dynamodb_on_demand"]["per_million_wru"],
        # Platform records per invocation (template's SystemLogLevel) + the functions' own records at the
        # template's ApplicationLogLevel, as the server emitted them during the measured work (sf_server.py).
        "cloudwatch_logs": (invocations * platform_log_bytes(prices) + app_log_bytes)
        / 1e9
        * prices["also"]["cloudwatch_logs_ingest_per_gb"],
        "xray": invocations * a["xray_sampled_fraction"] / m * prices["also"]["xray_per_million_traces_recorded"]
        if tracing_default()
        else 0.0,
        # Every HTTP request and websocket upgrade passes the one CloudFront distribution (same host + /api).
        "cloudfront": viewer_total / m * prices["cloudfront"]["per_million_https_requests"],
        "cloudfront_functions": edge_functions / m * prices["cloudfront_functions"]["per_million_invocations"],
    }
    c["total"] = sum(c.values())
    return {k: round(v, 9) for k, v in c.items()}


def scale(c: dict[str, float], factor: float) -> dict[str, float]:
    return {k: round(v * factor, 4) for k, v in c.items()}


def per_op_cost(routes: Routes, count: int, prices: dict[str, Any]) -> dict[str, Any]:
    """$ per 1M operations of one load phase (its counters diff, `count` operations)."""
    if count <= 0:
        return {}
    c = cost_of(routes, prices)
    calls = sum(r.get("ddb_calls", 0) for k, r in routes.items() if k != "background")
    return {
        "usd_per_million": round(c["total"] * 1e6 / count, 2),
        "ddb_calls_per_op": round(calls / count, 2),
        "rru_per_op": round(sum(r.get("rru", 0) for k, r in routes.items() if k != "background") / count, 2),
        "wru_per_op": round(sum(r.get("wru", 0) for k, r in routes.items() if k != "background") / count, 2),
    }


def run_costs(flow0: Routes | None, flow_n: Routes | None, n_tasks: int, prices: dict[str, Any]) -> dict[str, Any]:
    """$ per 1M flow runs (a flow run with no tasks) and per 1M task runs (marginal cost of a task)."""
    out: dict[str, Any] = {}
    if flow0 is not None:
        out["per_million_flow_runs"] = scale(cost_of(flow0, prices), 1e6)
    if flow0 is not None and flow_n is not None and n_tasks > 0:
        c0, cn = cost_of(flow0, prices), cost_of(flow_n, prices)
        out["per_million_task_runs"] = scale({k: max(0.0, cn[k] - c0[k]) for k in cn}, 1e6 / n_tasks)
    return out


def storage_cost(floor: dict[str, Any], prices: dict[str, Any]) -> dict[str, Any]:
    """Storage per 1M runs (bench/storage_floor.py's net bytes left in the table): $ per month for what is kept
    (runs and their states: RunRetentionDays defaults to forever), and $ once for what expires, billed over
    its retention (events and logs: the template's EventRetentionDays / LogRetentionDays defaults, plus the
    up to two days DynamoDB's TTL takes to delete)."""
    per_gb_month = prices["dynamodb_on_demand"]["storage_per_gb_month"]
    days = max(float(_parameter_default("EventRetentionDays", "7")), float(_parameter_default("LogRetentionDays", "7")))
    out: dict[str, Any] = {"retention_days_assumed": days}
    for what in ("flow_run", "task_run"):
        f = floor.get(what) or {}
        if "stored_kept" not in f:
            continue
        out[f"per_million_{what}s"] = {
            "kept_usd_per_month": round(f["stored_kept"] * 1e6 / 1e9 * per_gb_month, 4),
            "expiring_usd_once": round(f["stored_expiring"] * 1e6 / 1e9 * per_gb_month * (days + 2) / 30, 4),
        }
    return out


def idle_cost(ticks: list[dict[str, Any]], prices: dict[str, Any]) -> dict[str, Any]:
    """$ per month with no runs: every scheduled function ticking on its rate (tick work measured once each),
    plus, separately, one always-on worker long-polling its SQS queue."""
    mem_mb, arch = lambda_conf(prices)
    lam, a = prices["lambda"], prices["assumptions"]
    per_gbs = lam[f"per_gb_second_{arch.replace('-', '_')}"]
    month = a["seconds_per_month"]
    rows, total = [], 0.0
    for t in ticks:
        inv = month / t["every_seconds"]
        ms = t.get("seconds", a["lambda_ms_per_scheduled_tick_default"] / 1000) * 1000
        usd = inv * (
            lam["per_million_requests"] / 1e6
            + (math.ceil(ms) / 1000) * mem_mb / 1024 * per_gbs
            + t.get("rru", 0) * prices["dynamodb_on_demand"]["per_million_rru"] / 1e6
            + t.get("wru", 0) * prices["dynamodb_on_demand"]["per_million_wru"] / 1e6
            + (prices["eventbridge_scheduler"]["per_million_invocations"] / 1e6 if t.get("v2") else 0)
            + platform_log_bytes(prices) / 1e9 * prices["also"]["cloudwatch_logs_ingest_per_gb"]
        )
        rows.append(
            {
                "function": t["name"],
                "invocations_per_month": round(inv),
                "tick_ms": round(ms, 1),
                "usd_per_month": round(usd, 4),
            }
        )
        total += usd
    polls = month / a["worker_sqs_long_poll_seconds"]
    return {
        "scheduled_functions": rows,
        "usd_per_month": round(total, 4),
        "per_polling_worker_usd_per_month": round(polls * prices["sqs_standard"]["per_million_requests"] / 1e6, 4),
        "note": "API Gateway, Lambda, DynamoDB on-demand and SQS bill nothing at idle; storage of kept items "
        "is extra ($0.25/GB-month).",
    }
