"""The whole Serverflow stack on loopback.

Starts the embedded AWS emulator (unless an endpoint such as LocalStack is given),
creates the table and queues from template.yaml, serves every HTTP domain that
template.yaml routes on one port under /api (plus the /api/events/in websocket),
runs the scheduled functions on their rates and feeds the stream-fed functions from the
table's stream.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from infra import ui_assets
from infra.local import persistence, provision
from infra.local.runtime import runtime_line
from infra.local.schedules import Ticker, scheduled_functions
from infra.local.streams import StreamReader, stream_functions
from infra.local.ui_site import UiSite

DEFAULT_PORT = 4200
DEFAULT_EMULATOR_PORT = 4566
# The UI's catch-all takes every method, so an unknown API route stays a 404 (not a 405).
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Per-user, like the reference's ~/.prefect: data survives restarts unless --in-memory.
DEFAULT_DATA_DIR = "~/.serverflow/data"


def default_data_dir() -> Path:
    return Path(os.environ.get("SERVERFLOW_DATA_DIR") or DEFAULT_DATA_DIR).expanduser()


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
    # Where the embedded emulator journals every acknowledged write; None keeps data in memory only.
    _streams: StreamReader | None = field(default=None, init=False)
    data_dir: Path | None = None
    table_name: str = "serverflow"
    region: str = "us-east-1"
    schedule_speedup: float = 1.0
    run_schedules: bool = True
    _emulator: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _ticker: Ticker | None = field(default=None, init=False)
    _stopping: threading.Event = field(default_factory=threading.Event, init=False)

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api"

    def start_aws(self) -> str:
        if self.aws_endpoint_url is None:
            for what, port in (("emulator", self.emulator_port), ("API", self.port)):
                if port_in_use(self.host, port):
                    # Never silently reuse whatever is listening there (it may hold other data).
                    raise SystemExit(
                        f"Port {port} ({what}) on {self.host} is already in use; choose another with --{'emulator-port' if what == 'emulator' else 'port'}."
                    )
            command = [
                sys.executable,
                "-m",
                "infra.local.emulator",
                "--host",
                self.host,
                "--port",
                str(self.emulator_port),
            ]
            if self.data_dir is not None:
                command += ["--data-dir", str(self.data_dir)]
            # Its own session: a Ctrl-C to the terminal's process group must not stop the emulator
            # before the API (the stack stops it last, in `stop`).
            self._emulator = subprocess.Popen(command, start_new_session=True)
            # Replaying a large journal takes a while before the port opens.
            wait_for_port(self.host, self.emulator_port, timeout=600)
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
        if self.data_dir is not None and self._emulator is not None:
            imported = persistence.import_legacy_snapshot(
                self.aws_endpoint_url, self.region, self.table_name, self.data_dir
            )
            if imported:
                print(f"Imported {imported} items from {self.data_dir / 'table.jsonl'}", flush=True)
            print(f"Data: {self.data_dir} (journaled; --in-memory to keep nothing)", flush=True)
            redispatched = redispatch_due_runs()
            if redispatched:
                print(f"Re-sent {redispatched} due runs to their pools' queues", flush=True)
        return self.aws_endpoint_url

    def serve(self) -> None:
        """Serve until SIGINT/SIGTERM, then stop everything (API, scheduled functions, emulator)."""
        import uvicorn

        # uvicorn stops gracefully on SIGTERM, then re-raises it with the handler it found: make
        # that one unwind like Ctrl-C, so `stop` runs (the default handler would just exit).
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)

        from infra.template import http_domains
        from shared.api.app import create_app

        try:
            app = create_app(http_domains())
            self._serve_ui(app)
            # Stream-fed functions (fan-out to subscribers, trigger evaluation) always run:
            # without them live events never reach anyone.
            assert self.aws_endpoint_url is not None
            self._streams = StreamReader(
                stream_functions(),
                self.aws_endpoint_url,
                self.region,
                self.table_name,
                # Resume state lives beside the embedded emulator's journal (an external store keeps its own).
                state_dir=self.data_dir if self._emulator is not None else None,
            )
            self._streams.start()
            if self.run_schedules:
                self._ticker = Ticker(scheduled_functions(), speedup=self.schedule_speedup)
                self._ticker.start()
            config = uvicorn.Config(
                app, host=self.host, port=self.port, log_level="warning", ws="websockets-sansio", lifespan="off"
            )
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

    def _serve_ui(self, app: Any) -> None:
        """Prefect's built UI beside /api (extracted by `python -m infra.ui_assets`; dev start does it)."""
        if not ui_assets.is_extracted():
            print("Prefect UI not extracted (python -m infra.ui_assets): serving the API only.", flush=True)
            return
        app.add_route("/{path:path}", UiSite(ui_assets.SITE_DIR).respond, methods=ALL_METHODS, include_in_schema=False)
        print(f"Prefect UI: http://{self.host}:{self.port}/", flush=True)

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        # The API has stopped serving (uvicorn returned); then the scheduled and stream-fed
        # functions; the emulator last: on SIGTERM it finishes in-flight writes and closes its journal.
        if self._ticker is not None:
            self._ticker.stop()
        if self._streams is not None:
            self._streams.stop()
        if self._emulator is not None:
            self._emulator.terminate()
            try:
                self._emulator.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._emulator.kill()
                self._emulator.wait()
        print("Serverflow stopped.", flush=True)


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def redispatch_due_runs() -> int:
    """SQS messages do not survive a restart: send every pool's scheduled runs again.

    Workers claim only through get_scheduled_flow_runs, so a duplicate wake-up is harmless."""
    from shared.maintenance.redispatch import redispatch_scheduled_runs

    return redispatch_scheduled_runs()
