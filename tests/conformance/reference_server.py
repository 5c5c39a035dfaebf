"""Start the reference server (prefect 3.9.1's `prefect server start`) for the conformance suite.

SQLite in a private PREFECT_HOME, UI and analytics off, a free loopback port. The prefect CLI
comes from the test environment (the same interpreter running pytest).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.stack_process import free_port

LOOP_SERVICES_OFF = (
    "scheduler",
    "late_runs",
    "foreman",
    "cancellation_cleanup",
    "pause_expirations",
    "repossessor",
    "db_vacuum",
    "cleanup_reconciler",
    "triggers",
)


def prefect_cli() -> str:
    """The `prefect` executable installed beside the running interpreter."""
    return str(Path(sys.executable).parent / "prefect")


def isolated_prefect_env(home: str, api_url: str | None = None) -> dict[str, str]:
    """A process environment where no PREFECT_* setting leaks in from the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=home,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        PYTHONUNBUFFERED="1",
    )
    if api_url is not None:
        env["PREFECT_API_URL"] = api_url
    return env


@dataclass
class ReferenceServer:
    port: int = field(default_factory=free_port)
    home: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="prefect-reference-"))
    process: subprocess.Popen[str] | None = None
    output: deque[str] = field(default_factory=lambda: deque(maxlen=300))

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def launch(self) -> ReferenceServer:
        """Start the process without waiting (it takes ~15 s: start the local stack meanwhile)."""
        env = isolated_prefect_env(self.home)
        env["PREFECT_SERVER_API_HOST"] = "127.0.0.1"
        # Loop services that change objects on their own (scheduling, marking runs late, worker and
        # pool status, ...) are off, so both servers see only the suite's requests; the event
        # persister and the task-run recorder stay on (reads depend on them).
        for service in LOOP_SERVICES_OFF:
            env[f"PREFECT_SERVER_SERVICES_{service.upper()}_ENABLED"] = "false"
        self.process = subprocess.Popen(
            [prefect_cli(), "server", "start", "--host", "127.0.0.1", "--port", str(self.port), "--no-ui"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def wait_healthy(self, timeout: float = 120.0) -> ReferenceServer:
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("Reference server exited:\n" + "\n".join(self.output))
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise TimeoutError("Reference server did not become healthy:\n" + "\n".join(self.output))

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip())

    def stop(self) -> None:
        try:
            if self.process is not None and self.process.poll() is None:
                # Its own session: uvicorn and the services it spawned stop together.
                os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait()
        finally:
            shutil.rmtree(self.home, ignore_errors=True)
