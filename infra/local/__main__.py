"""`python -m infra.local`: start the whole stack (see README)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from infra.local.stack import DEFAULT_EMULATOR_PORT, DEFAULT_PORT, LocalStack


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
    parser.add_argument("--persist", type=Path, default=None, help="Keep data across restarts in this directory")
    parser.add_argument("--no-schedules", action="store_true", help="Do not run the scheduled functions")
    parser.add_argument("--schedule-speedup", type=float, default=1.0, help="Run scheduled functions N times faster")
    args = parser.parse_args(argv)
    stack = LocalStack(
        host=args.host,
        port=args.port,
        emulator_port=args.emulator_port,
        aws_endpoint_url=args.aws_endpoint_url,
        persist_dir=args.persist,
        run_schedules=not args.no_schedules,
        schedule_speedup=args.schedule_speedup,
    )
    stack.start_aws()
    stack.serve()


if __name__ == "__main__":
    main()
