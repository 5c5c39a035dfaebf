"""`python -m infra.local`: start the whole stack (see README)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from infra.local.stack import DEFAULT_DATA_DIR, DEFAULT_EMULATOR_PORT, DEFAULT_PORT, LocalStack, default_data_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description="Run Serverflow on loopback")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SERVERFLOW_PORT", DEFAULT_PORT)))
    parser.add_argument("--emulator-port", type=int, default=DEFAULT_EMULATOR_PORT)
    parser.add_argument(
        "--aws-endpoint-url",
        default=os.environ.get("SERVERFLOW_LOCALSTACK_URL"),
        help="Use this AWS endpoint (e.g. LocalStack, http://localhost:4566) instead of the embedded emulator",
    )
    storage = parser.add_mutually_exclusive_group()
    storage.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"Keep data here, every acknowledged write journaled (default: $SERVERFLOW_DATA_DIR or {DEFAULT_DATA_DIR})",
    )
    storage.add_argument("--persist", type=Path, dest="data_dir", help="Alias of --data-dir")
    storage.add_argument("--in-memory", action="store_true", help="Keep nothing across restarts")
    parser.add_argument("--no-schedules", action="store_true", help="Do not run the scheduled functions")
    parser.add_argument("--schedule-speedup", type=float, default=1.0, help="Run scheduled functions N times faster")
    args = parser.parse_args(argv)
    stack = LocalStack(
        host=args.host,
        port=args.port,
        emulator_port=args.emulator_port,
        aws_endpoint_url=args.aws_endpoint_url,
        data_dir=None if args.in_memory or args.aws_endpoint_url else (args.data_dir or default_data_dir()),
        run_schedules=not args.no_schedules,
        schedule_speedup=args.schedule_speedup,
    )
    stack.start_aws()
    stack.serve()


if __name__ == "__main__":
    main()
