"""Embedded AWS emulator: moto's app on loopback, for machines without Docker.

Served over kept-alive HTTP/1.1 connections (infra/local/http_server.py), DynamoDB reads
without moto's per-request web machinery (infra/local/fast_dispatch.py). DynamoDB requests are served one at a time (moto does not lock; DynamoDB applies a
conditional write atomically). With `--data-dir` every acknowledged write is first
journaled and fsynced, and the directory is replayed at start (infra/local/persistence.py).

Stops cleanly on SIGTERM (server, then journal); ignores SIGINT, so a Ctrl-C sent to
the terminal's process group leaves the stack to stop it in order (API first).

Run: python -m infra.local.emulator --port 4566 [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from infra.local.fast_dispatch import FastDispatch
from infra.local.http_server import KeepAliveServer
from infra.local.persistence import DurableStore


def build_app(directory: Path | None = None) -> DurableStore:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from infra.local import moto_speedups

    moto_speedups.apply()
    return DurableStore(FastDispatch(DomainDispatcherApplication(create_backend_app)), directory)


def build_server(host: str, port: int, app: Any | None = None) -> KeepAliveServer:
    return KeepAliveServer(host, port, app if app is not None else build_app())


def exit_with_parent(interval: float = 0.5) -> None:
    """Stop when the process that started us is gone (killed stacks leave no orphans).

    Every acknowledged write is already fsynced, so leaving at once loses nothing."""
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
    parser.add_argument("--data-dir", type=Path, default=None, help="Journal writes here and replay them at start")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="emulator %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    app = build_app(args.data_dir)
    if args.data_dir is not None:
        started = time.monotonic()
        replayed = app.open()
        print(
            f"Replayed {replayed} journaled writes from {args.data_dir} in {time.monotonic() - started:.1f}s",
            flush=True,
        )
        app.snapshot_bytes = int(os.environ.get("SERVERFLOW_SNAPSHOT_BYTES", app.snapshot_bytes))
        app.start_snapshots(interval=float(os.environ.get("SERVERFLOW_SNAPSHOT_INTERVAL", "10")))
    server = build_server(args.host, args.port, app)
    exit_with_parent()

    def stop(signum: int, frame: Any) -> None:
        # shutdown() waits for serve_forever to return: call it off the main thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print(f"AWS emulator: http://{args.host}:{server.server_port} (pid {os.getpid()})", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        app.close()
        print("AWS emulator stopped.", flush=True)


if __name__ == "__main__":
    main()
