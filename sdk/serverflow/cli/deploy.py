"""``serverflow deploy path/to/file.py:flow_fn --name NAME [--pool POOL] [--cron ...|--interval S|--rrule ...]``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._common import client
from .deployment import parse_parameters


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("deploy", help="Create or update a deployment of a flow in a file")
    parser.add_argument("entrypoint", help="path/to/file.py:flow_function, relative to --source-root")
    parser.add_argument("--name", "-n", required=True, help="Deployment name")
    parser.add_argument("--pool", "-p", dest="work_pool_name", help="Work pool whose workers run it")
    parser.add_argument("--queue", "-q", dest="work_queue_name", help="Work queue in the pool")
    parser.add_argument("--source-root", default=".", help="Directory the entrypoint is relative to (default: .)")
    schedule = parser.add_mutually_exclusive_group()
    schedule.add_argument("--cron", help="Cron schedule, e.g. '*/5 * * * *'")
    schedule.add_argument("--interval", type=float, help="Interval schedule in seconds")
    schedule.add_argument("--rrule", help="RRule schedule")
    parser.add_argument("--timezone", help="Timezone of the schedule (default UTC)")
    parser.add_argument(
        "--param", "-P", action="append", default=[], help="Default parameter key=value (JSON values parsed)"
    )
    parser.add_argument("--params", help="Default parameters as a JSON object")
    parser.add_argument("--job-variable", "-jv", action="append", default=[], dest="job_variables", help="key=value")
    parser.add_argument("--tag", "-t", action="append", default=[])
    parser.add_argument("--concurrency-limit", type=int)
    parser.add_argument("--collision-strategy", choices=["ENQUEUE", "CANCEL_NEW"])
    parser.add_argument("--paused", action="store_true", help="Create it paused (no scheduled runs)")
    parser.set_defaults(handler=deploy)


def deploy(args: argparse.Namespace) -> int:
    from ..deployments import apply
    from ..entrypoints import confine, split
    from ..worker.run_flow_run import load_flow

    root = Path(args.source_root).expanduser().resolve()
    target, attribute = split(args.entrypoint)
    relative = confine(target, root).relative_to(root).as_posix()  # refuses '..' escapes and outside paths
    flow = load_flow(f"{relative}:{attribute}", root)
    job_variables = parse_parameters(None, args.job_variables)
    with client(args) as api:
        deployment_id = apply(
            flow,
            args.name,
            args.work_pool_name,
            work_queue_name=args.work_queue_name,
            entrypoint=f"{relative}:{attribute}",
            source_root=root,
            cron=args.cron,
            interval=args.interval,
            rrule=args.rrule,
            timezone=args.timezone,
            parameters=parse_parameters(args.params, args.param),
            job_variables=job_variables,
            tags=args.tag,
            concurrency_limit=args.concurrency_limit,
            collision_strategy=args.collision_strategy,
            paused=args.paused,
            client=api,
        )
    where = f"work pool {args.work_pool_name!r}" if args.work_pool_name else "no work pool (use flow.serve or set one)"
    print(
        f"Deployment '{flow.name}/{args.name}' ({deployment_id}) points at {relative}:{attribute} in {root}, run by {where}."
    )
    print(f"Run it: serverflow deployment run '{flow.name}/{args.name}' --watch")
    return 0
