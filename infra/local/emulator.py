"""Embedded AWS emulator: moto's server on loopback, for machines without Docker.

Real DynamoDB applies a conditional write atomically; moto's Python backend does
not lock, so concurrent requests could interleave a condition check and a write.
DynamoDB requests are therefore served one at a time (other services, notably
SQS long polls, stay concurrent).

Run: python -m infra.local.emulator --port 4566
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerializeDynamoDB:
    """WSGI middleware: one DynamoDB request at a time, like a single-item lock."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            # Materialise the body inside the lock so the write completes before release.
            return list(self.app(environ, start_response))


def build_server(host: str, port: int) -> BaseWSGIServer:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    from infra.local import moto_speedups

    moto_speedups.apply()
    app = SerializeDynamoDB(DomainDispatcherApplication(create_backend_app))
    return make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)


def exit_with_parent(interval: float = 1.0) -> None:
    """Stop when the process that started us is gone (killed stacks leave no orphans)."""
    import os

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serverflow's embedded AWS emulator (moto)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = build_server(args.host, args.port)
    exit_with_parent()
    print(f"AWS emulator: http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
