"""``serverflow deployment ls | run <flow>/<deployment> [--param k=v] [--watch]`` (Prefect-compatible endpoints)."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from ._common import client
from ._output import state_text, table


def register(subparsers: Any) -> None:
    group = subparsers.add_parser("deployment", help="List and run deployments")
    commands = group.add_subparsers(dest="command", metavar="<subcommand>", required=True)

    ls = commands.add_parser("ls", help="List deployments")
    ls.add_argument("--limit", type=int, default=50)
    ls.set_defaults(handler=list_deployments)

    run = commands.add_parser("run", help="Create a flow run from a deployment")
    run.add_argument("name", help="<flow name>/<deployment name>, or a deployment id")
    run.add_argument("--param", "-p", action="append", default=[], help="key=value (value parsed as JSON if it can be)")
    run.add_argument("--params", help="All parameters as a JSON object")
    run.add_argument("--tag", action="append", default=[])
    run.add_argument("--watch", action="store_true", help="Wait and report until the run finishes")
    run.add_argument("--watch-timeout", type=float, default=600)
    run.set_defaults(handler=run_deployment)


def list_deployments(args: argparse.Namespace) -> int:
    with client(args) as api:
        deployments = api.read_deployments(limit=args.limit)
        flow_names = {d.flow_id: api.read_flow(d.flow_id).name for d in deployments}
    table(
        ["name", "id", "work pool", "paused", "status"],
        [(f"{flow_names[d.flow_id]}/{d.name}", d.id, d.work_pool_name, d.paused, d.status) for d in deployments],
        title=f"Deployments ({len(deployments)})",
    )
    return 0


def parse_parameters(as_json: str | None, pairs: list[str]) -> dict[str, Any]:
    """``--params '{...}'`` merged with ``key=value`` pairs (values parsed as JSON when they can be)."""
    params: dict[str, Any] = json.loads(as_json) if as_json else {}
    if not isinstance(params, dict):
        raise SystemExit("--params expects a JSON object")
    for item in pairs:
        key, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"--param expects key=value, got {item!r}")
        try:
            params[key] = json.loads(raw)
        except ValueError:
            params[key] = raw
    return params


def run_deployment(args: argparse.Namespace) -> int:
    with client(args) as api:
        if "/" in args.name:
            flow_name, deployment_name = args.name.split("/", 1)
            deployment = api.read_deployment_by_name(flow_name, deployment_name)
        else:
            deployment = api.read_deployment(args.name)
        body: dict[str, Any] = {"parameters": parse_parameters(args.params, args.param)}
        if args.tag:
            body["tags"] = args.tag
        run = api.create_flow_run_from_deployment(deployment.id, body)
        print(
            f"Created flow run {run.name!r} ({run.id}) from deployment {args.name!r}: {state_text(run.state_type, run.state_name)}"
        )
        if not args.watch:
            return 0
        deadline = time.monotonic() + args.watch_timeout
        last = None
        while time.monotonic() < deadline:
            run = api.read_flow_run(run.id)
            if run.state_name != last:
                last = run.state_name
                print(f"  {time.strftime('%H:%M:%S')}  {state_text(run.state_type, run.state_name)}")
            if run.state_type in ("COMPLETED", "FAILED", "CANCELLED", "CRASHED"):
                return 0 if run.state_type == "COMPLETED" else 1
            time.sleep(2)
    print("Timed out waiting for the flow run to finish.")
    return 1
