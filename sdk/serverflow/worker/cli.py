"""``serverflow worker --pool NAME [--queue Q ...] [--once] [--limit N]`` (registered by serverflow.cli)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("worker", help="Run a work pool's flow runs (SQS + API polling)")
    parser.add_argument("--pool", "-p", required=True, help="Work pool name (created if missing)")
    parser.add_argument(
        "--queue", "-q", action="append", default=[], dest="queues", help="Only these work queues (repeatable)"
    )
    parser.add_argument("--name", "-n", help="Worker name (default: unique per process)")
    parser.add_argument(
        "--once", "--drain", action="store_true", help="Exit when the queue and the API have nothing due"
    )
    parser.add_argument("--limit", type=int, default=10, help="Maximum concurrent flow runs (default 10)")
    parser.add_argument("--queue-url", help="The pool's SQS queue URL (default: derived from the pool id)")
    parser.add_argument("--no-sqs", action="store_true", help="Poll the API only")
    parser.add_argument("--visibility-timeout", type=int, help="SQS visibility timeout asked for on receive (seconds)")
    parser.add_argument(
        "--attach-lambda",
        metavar="FUNCTION",
        help="Instead of running: map the pool's queue to this Lambda worker function",
    )
    parser.set_defaults(handler=run_worker)


def run_worker(args: argparse.Namespace) -> int:
    from ..client import SyncClient
    from ..settings import get_settings
    from .loop import Worker
    from .options import WorkerOptions

    options = WorkerOptions(
        pool=args.pool, queues=list(args.queues), once=args.once, limit=max(1, args.limit), use_sqs=not args.no_sqs
    )
    if args.name:
        options.name = args.name
    if args.queue_url:
        options.queue_url = args.queue_url
    if args.visibility_timeout is not None:
        options.visibility_timeout = args.visibility_timeout
    api_key = args.api_key if args.api_key is not None else get_settings().api_key
    with SyncClient(args.api_url, api_key) as client:
        if args.attach_lambda:
            return attach_lambda(client, args)
        return Worker(options, client, api_key).run()


def attach_lambda(client: Any, args: argparse.Namespace) -> int:
    from .lambda_attach import attach

    pool = client.read_work_pool(args.pool)
    mapping = attach(pool.id, args.attach_lambda, queue_url=args.queue_url)
    print(
        f"Work pool {pool.name!r} -> Lambda {args.attach_lambda}: event source mapping {mapping.get('UUID')} ({mapping.get('State')})"
    )
    return 0
