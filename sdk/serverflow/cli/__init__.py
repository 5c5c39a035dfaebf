"""``serverflow`` command line. Each command group is a module exposing ``register(subparsers)``; add a
module to ``GROUPS`` to add a group."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

GROUPS = ("flow_run", "deployment", "deploy", "work_pool", "worker")


def build_parser() -> argparse.ArgumentParser:
    from .._version import __version__

    parser = argparse.ArgumentParser(prog="serverflow", description="Serverflow: Prefect-compatible flows on AWS.")
    parser.add_argument("--version", action="version", version=f"serverflow {__version__}")
    parser.add_argument("--api-url", help="API URL (default: $SERVERFLOW_API_URL, else $PREFECT_API_URL)")
    parser.add_argument("--api-key", help="API key (default: $SERVERFLOW_API_KEY)")
    subparsers = parser.add_subparsers(dest="group", metavar="<command>")
    for name in GROUPS:
        import_module(f".{name}", __name__).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from ..exceptions import ServerflowError
    from ._output import error

    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except ServerflowError as exc:
        error(str(exc))
        return 1
    except KeyboardInterrupt:
        error("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
