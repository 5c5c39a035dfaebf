"""``serverflow work-pool ls | create <name> --type <type>``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import client
from ._output import table


def register(subparsers: Any) -> None:
    group = subparsers.add_parser("work-pool", help="List and create work pools")
    commands = group.add_subparsers(dest="command", metavar="<subcommand>", required=True)

    ls = commands.add_parser("ls", help="List work pools")
    ls.set_defaults(handler=list_pools)

    create = commands.add_parser("create", help="Create a work pool")
    create.add_argument("name")
    create.add_argument("--type", default="process", help="Worker type (default: process)")
    create.add_argument("--description")
    create.add_argument("--paused", action="store_true")
    create.add_argument("--concurrency-limit", type=int)
    create.add_argument("--base-job-template", help="Path to a JSON base job template")
    create.set_defaults(handler=create_pool)


def list_pools(args: argparse.Namespace) -> int:
    with client(args) as api:
        pools = api.read_work_pools()
    table(
        ["name", "type", "id", "paused", "concurrency", "status"],
        [(p.name, p.type, p.id, p.is_paused, p.concurrency_limit, p.status) for p in pools],
        title=f"Work pools ({len(pools)})",
    )
    return 0


def create_pool(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"name": args.name, "type": args.type, "is_paused": args.paused}
    if args.description:
        body["description"] = args.description
    if args.concurrency_limit is not None:
        body["concurrency_limit"] = args.concurrency_limit
    if args.base_job_template:
        with open(args.base_job_template) as handle:
            body["base_job_template"] = json.load(handle)
    with client(args) as api:
        pool = api.create_work_pool(body)
    print(f"Created work pool {pool.name!r} (type {pool.type}, id {pool.id}).")
    return 0
