"""``serverflow flow-run ls | inspect <id> | cancel <id>``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import client
from ._output import fields, state_text, table


def register(subparsers: Any) -> None:
    group = subparsers.add_parser("flow-run", help="List, inspect and cancel flow runs")
    commands = group.add_subparsers(dest="command", metavar="<subcommand>", required=True)

    ls = commands.add_parser("ls", help="List recent flow runs")
    ls.add_argument("--limit", type=int, default=15)
    ls.add_argument("--state", action="append", help="State type filter, e.g. RUNNING (repeatable)")
    ls.add_argument("--flow-name", action="append", help="Only runs of this flow (repeatable)")
    ls.set_defaults(handler=list_runs)

    inspect = commands.add_parser("inspect", help="Show one flow run")
    inspect.add_argument("id")
    inspect.add_argument("--json", action="store_true", help="Print the raw JSON")
    inspect.set_defaults(handler=inspect_run)

    cancel = commands.add_parser("cancel", help="Cancel a flow run (moves it to Cancelling)")
    cancel.add_argument("id")
    cancel.set_defaults(handler=cancel_run)


def list_runs(args: argparse.Namespace) -> int:
    filters: dict[str, Any] = {}
    if args.state:
        filters["state"] = {"type": {"any_": [s.upper() for s in args.state]}}
    with client(args) as api:
        flows_filter = {"name": {"any_": args.flow_name}} if args.flow_name else None
        runs = api.read_flow_runs(
            filters or None, flows=flows_filter, sort="EXPECTED_START_TIME_DESC", limit=args.limit
        )
        flow_names = {}
        for flow_id in {run.flow_id for run in runs}:
            try:
                flow_names[flow_id] = api.read_flow(flow_id).name
            except Exception:  # noqa: BLE001 - a flow that cannot be read is shown by its id
                flow_names[flow_id] = str(flow_id)
    table(
        ["id", "flow", "name", "state", "runs", "start time"],
        [
            (
                run.id,
                flow_names.get(run.flow_id),
                run.name,
                state_text(run.state_type, run.state_name),
                run.run_count,
                run.start_time or run.expected_start_time,
            )
            for run in runs
        ],
        title=f"Flow runs ({len(runs)})",
    )
    return 0


def inspect_run(args: argparse.Namespace) -> int:
    with client(args) as api:
        run = api.read_flow_run(args.id)
    if args.json:
        print(json.dumps(run.model_dump(mode="json"), indent=2))
        return 0
    fields(
        [
            ("id", run.id),
            ("name", run.name),
            ("flow id", run.flow_id),
            ("state", state_text(run.state_type, run.state_name)),
            ("message", run.state.message if run.state else None),
            ("run count", run.run_count),
            ("parameters", json.dumps(run.parameters)),
            ("tags", run.tags),
            ("deployment", run.deployment_id),
            ("work pool", run.work_pool_name),
            ("parent task run", run.parent_task_run_id),
            ("expected start", run.expected_start_time),
            ("start", run.start_time),
            ("end", run.end_time),
        ]
    )
    return 0


def cancel_run(args: argparse.Namespace) -> int:
    from ..states import Cancelling

    with client(args) as api:
        run = api.read_flow_run(args.id)
        if run.state_type in ("COMPLETED", "FAILED", "CANCELLED", "CRASHED"):
            print(f"Flow run {run.name!r} is already {run.state_name}; nothing to cancel.")
            return 1
        result = api.set_flow_run_state(args.id, Cancelling(message="Cancelled from the serverflow CLI").to_create())
    # Only ABORT is a refusal: the server may REJECT Cancelling in favour of Cancelled directly (e.g. for a
    # scheduled run with no infrastructure to stop), as prefect's CLI also accepts.
    if result.status == "ABORT":
        print(f"Flow run {run.name!r} could not be cancelled: {result.reason or 'aborted by the server'}")
        return 1
    print(f"Flow run {run.name!r} ({args.id}) is now {result.state.name if result.state else 'Cancelling'}.")
    return 0
