"""The whole Serverflow stack on loopback.

Starts the embedded AWS emulator (unless an endpoint such as LocalStack is given),
creates the table and queues from template.yaml, serves every HTTP domain that
template.yaml routes on one port under /api (plus the /api/events/in websocket),
and runs the scheduled functions on their rates.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from infra.local import persistence, provision
from infra.local.runtime import runtime_line
from infra.local.schedules import Ticker, scheduled_functions

DEFAULT_PORT = 4200
DEFAULT_EMULATOR_PORT = 4566


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(host: str, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"Nothing listening on {host}:{port} after {timeout}s")


@dataclass
class LocalStack:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    emulator_port: int = DEFAULT_EMULATOR_PORT
    # e.g. http://localhost:4566 for LocalStack; None starts the embedded emulator.
    aws_endpoint_url: str | None = None
    persist_dir: Path | None = None
    table_name: str = "serverflow"
    region: str = "us-east-1"
    schedule_speedup: float = 1.0
    run_schedules: bool = True
    _emulator: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _ticker: Ticker | None = field(default=None, init=False)
    _snapshotter: threading.Thread | None = field(default=None, init=False)
    _stopping: threading.Event = field(default_factory=threading.Event, init=False)

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api"

    def start_aws(self) -> str:
        if self.aws_endpoint_url is None:
            for what, port in (("emulator", self.emulator_port), ("API", self.port)):
                if port_in_use(self.host, port):
                    # Never silently reuse whatever is listening there (it may hold other data).
                    raise SystemExit(f"Port {port} ({what}) on {self.host} is already in use; choose another with --{'emulator-port' if what == 'emulator' else 'port'}.")
            self._emulator = subprocess.Popen(
                [sys.executable, "-m", "infra.local.emulator", "--host", self.host, "--port", str(self.emulator_port)],
                stdout=subprocess.DEVNULL,
            )
            wait_for_port(self.host, self.emulator_port)
            if self._emulator.poll() is not None:
                raise SystemExit(f"The AWS emulator exited with code {self._emulator.returncode}.")
            self.aws_endpoint_url = f"http://{self.host}:{self.emulator_port}"
        else:
            # An external endpoint (LocalStack) may still be starting: wait for it, then fail clearly.
            endpoint = urlsplit(self.aws_endpoint_url)
            try:
                wait_for_port(endpoint.hostname or "127.0.0.1", endpoint.port or 443, timeout=60)
            except TimeoutError as exc:
                raise SystemExit(f"No AWS endpoint answers at {self.aws_endpoint_url}: {exc}") from exc
        # Only configuration differs from AWS: endpoint and (dummy) credentials.
        os.environ["SERVERFLOW_AWS_ENDPOINT_URL"] = self.aws_endpoint_url
        os.environ["SERVERFLOW_TABLE"] = self.table_name
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        os.environ["AWS_REGION"] = self.region
        os.environ["AWS_DEFAULT_REGION"] = self.region
        os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Serverflow")
        from shared.config import reset_settings_cache
        from shared.storage.table import configure_table

        reset_settings_cache()
        configure_table()
        provision.create_table(self.aws_endpoint_url, self.region, self.table_name)
        queue_urls = provision.create_queues(self.aws_endpoint_url, self.region, self.table_name)
        for logical_id, url in queue_urls.items():
            os.environ[f"SERVERFLOW_QUEUE_{logical_id.upper()}"] = url
        if self.persist_dir is not None:
            restored = persistence.restore(self.aws_endpoint_url, self.region, self.table_name, self.persist_dir)
            print(f"Restored {restored} items from {self.persist_dir}", flush=True)
            self._snapshotter = threading.Thread(target=self._snapshot_loop, daemon=True)
            self._snapshotter.start()
        return self.aws_endpoint_url

    def _snapshot_loop(self) -> None:
        while not self._stopping.wait(30):
            self.snapshot()

    def snapshot(self) -> None:
        if self.persist_dir is not None and self.aws_endpoint_url:
            persistence.snapshot(self.aws_endpoint_url, self.region, self.table_name, self.persist_dir)

    def serve(self) -> None:
        """Serve until SIGINT/SIGTERM, then stop everything."""
        import uvicorn

        from infra.template import http_domains
        from shared.api.app import create_app

        try:
            app = create_app(http_domains())
            if self.run_schedules:
                self._ticker = Ticker(scheduled_functions(), speedup=self.schedule_speedup)
                self._ticker.start()
            config = uvicorn.Config(app, host=self.host, port=self.port, log_level="warning", ws="websockets-sansio", lifespan="off")
            server = uvicorn.Server(config)
            print(runtime_line(), flush=True)
            print(f"Serverflow API: {self.api_url}", flush=True)
            print(f"AWS endpoint: {self.aws_endpoint_url}", flush=True)
            print(f"Point clients here: PREFECT_API_URL={self.api_url}", flush=True)
            server.run()
        except KeyboardInterrupt:
            # uvicorn re-raises the captured Ctrl-C after its graceful shutdown.
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._ticker is not None:
            self._ticker.stop()
        try:
            self.snapshot()
        finally:
            if self._emulator is not None:
                self._emulator.terminate()
                try:
                    self._emulator.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._emulator.kill()
        print("Serverflow stopped.", flush=True)
