"""Automations bench: event -> action latency on the local stack, and $ per 1M evaluated events.

    .venv/bin/python -m bench.automations [--events 40] [--evaluated 2000]

1. Latency: a local stack (`python -m infra.local`), one deployment and one reactive automation
   "test.bench.go -> run-deployment" whose parameters template the event id. Events are posted one
   at a time (POST /events); for each, latency = the created run's `created` - the event's
   `occurred` (both stamped on this machine). Printed as p50/p95.
2. Cost: the stream-fed evaluator's own work, measured in this process against the stack's
   emulator with bench.ddb_meter's botocore hooks: `evaluator.reactive()` on batches of 100 new
   events (the template's BatchSize), with 10 enabled automations of which one covers 10% of the
   events (threshold 5 within 60 s, so they are counted in a bucket and fire now and then).
   The first batch warms the process (imports, the in-process API app) and is not counted.
   Priced with bench.cost's prices: Lambda invocations per batch + measured compute at the
   template's memory, DynamoDB at the estimated RRU/WRU, logs per invocation. Stream reads by
   a Lambda event source mapping are free; the event's own write is the ingest path's cost,
   not the evaluator's, and is not included.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import time
import uuid
from typing import Any

import httpx

from bench import ddb_meter
from bench.cost import lambda_conf, load_prices, platform_log_bytes
from tests.aws_env import stack_aws_env
from tests.stack_process import StackProcess

BATCH = 100


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure_latency(client: httpx.Client, events: int) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    flow = client.post("/flows/", json={"name": f"bench-{tag}"}).json()
    deployment = client.post("/deployments/", json={"name": f"bench-{tag}", "flow_id": flow["id"]}).json()
    client.post(
        "/automations/",
        json={
            "name": f"bench-{tag}",
            "trigger": {"type": "event", "posture": "Reactive", "expect": [f"test.{tag}.go"]},
            "actions": [
                {
                    "type": "run-deployment",
                    "source": "selected",
                    "deployment_id": deployment["id"],
                    "parameters": {"event_id": {"__prefect_kind": "jinja", "template": "{{ event.id }}"}},
                }
            ],
        },
    ).raise_for_status()
    occurred: dict[str, datetime.datetime] = {}
    latencies: list[float] = []
    for _ in range(events):
        event_id = str(uuid.uuid4())
        now = datetime.datetime.now(datetime.UTC)
        occurred[event_id] = now
        client.post(
            "/events",
            json=[
                {
                    "id": event_id,
                    "occurred": now.isoformat(),
                    "event": f"test.{tag}.go",
                    "resource": {"prefect.resource.id": f"bench.{event_id}"},
                }
            ],
        ).raise_for_status()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            runs = client.post(
                "/flow_runs/filter", json={"deployments": {"id": {"any_": [deployment["id"]]}}, "limit": 200}
            ).json()
            mine = [r for r in runs if r["parameters"].get("event_id") == event_id]
            if mine:
                latencies.append((datetime.datetime.fromisoformat(mine[0]["created"]) - now).total_seconds())
                break
            time.sleep(0.02)
    return {
        "events": events,
        "actions_seen": len(latencies),
        "p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "p95_s": round(_percentile(latencies, 0.95), 3) if latencies else None,
    }


def measure_cost(aws_endpoint_url: str, evaluated: int) -> dict[str, Any]:
    ddb_meter.install()
    with stack_aws_env(aws_endpoint_url):
        from shared.automations import evaluator
        from shared.schemas.automations import Automation
        from shared.schemas.events import Event
        from shared.storage import automations as automation_store

        tag = uuid.uuid4().hex[:8]
        made = []
        for n in range(10):
            expect = f"bench.{tag}.counted" if n == 0 else f"bench.{tag}.other{n}"
            automation = Automation.model_validate(
                {
                    "name": f"cost-{tag}-{n}",
                    "trigger": {
                        "type": "event",
                        "posture": "Reactive",
                        "expect": [expect],
                        "threshold": 5,
                        "within": 60,
                    },
                    "actions": [{"type": "do-nothing"}],
                }
            )
            made.append(automation_store.create(automation, None))
        events = [
            Event.model_validate(
                {
                    "id": str(uuid.uuid4()),
                    "occurred": datetime.datetime.now(datetime.UTC).isoformat(),
                    "event": f"bench.{tag}.counted" if i % 10 == 0 else f"bench.{tag}.noise",
                    "resource": {"prefect.resource.id": f"bench.{tag}.{i % 7}"},
                }
            ).receive()
            for i in range(evaluated)
        ]
        # Warm the container as Lambda would be: imports and the in-process API app built once.
        from shared.automations import actions

        actions._app()
        evaluator.reactive(events[:BATCH])
        events = events[BATCH:]
        evaluated -= BATCH
        ddb_meter.METER.reset()
        started = time.perf_counter()
        fired = 0
        with_token = ddb_meter.ROUTE.set("evaluator")
        try:
            for start in range(0, len(events), BATCH):
                fired += evaluator.reactive(events[start : start + BATCH])
        finally:
            ddb_meter.ROUTE.reset(with_token)
        seconds = time.perf_counter() - started
        counters = ddb_meter.METER.snapshot().get("evaluator", {})
        for automation in made:
            automation_store.delete(automation.id)
    prices = load_prices()
    mem_mb, arch = lambda_conf(prices)
    lam = prices["lambda"]
    invocations = evaluated / BATCH
    per = 1e6 / evaluated
    usd = {
        "lambda_requests": invocations * per / 1e6 * lam["per_million_requests"],
        "lambda_compute": seconds * per * mem_mb / 1024 * lam[f"per_gb_second_{arch.replace('-', '_')}"],
        "dynamodb_read": counters.get("rru", 0.0) * per / 1e6 * prices["dynamodb_on_demand"]["per_million_rru"],
        "dynamodb_write": counters.get("wru", 0.0) * per / 1e6 * prices["dynamodb_on_demand"]["per_million_wru"],
        "cloudwatch_logs": invocations
        * per
        * platform_log_bytes(prices)
        / 1e9
        * prices["also"]["cloudwatch_logs_ingest_per_gb"],
    }
    usd["total"] = sum(usd.values())
    return {
        "evaluated_events": evaluated,
        "automations": 10,
        "covered_fraction": 0.1,
        "fired": fired,
        "evaluator_seconds": round(seconds, 3),
        "ddb_calls_per_event": round(counters.get("ddb_calls", 0) / evaluated, 3),
        "rru_per_event": round(counters.get("rru", 0.0) / evaluated, 3),
        "wru_per_event": round(counters.get("wru", 0.0) / evaluated, 3),
        "usd_per_million_evaluated_events": {k: round(v, 4) for k, v in usd.items()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=40, help="events posted one by one for the latency figure")
    parser.add_argument("--evaluated", type=int, default=2000, help="events evaluated in process for the cost figure")
    args = parser.parse_args(argv)
    stack = StackProcess().start()
    try:
        with httpx.Client(base_url=stack.api_url, timeout=30) as client:
            latency = measure_latency(client, args.events)
        cost = measure_cost(stack.aws_endpoint_url, args.evaluated)
    finally:
        stack.stop()
    result = {"latency": latency, "cost": cost}
    print(json.dumps(result, indent=2))
    print(
        f"automations: event -> run-deployment p50 {latency['p50_s']} s, p95 {latency['p95_s']} s "
        f"({latency['actions_seen']}/{latency['events']}); ${cost['usd_per_million_evaluated_events']['total']} "
        f"per 1M evaluated events (10 automations, 10% covered)"
    )


if __name__ == "__main__":
    main()
