"""Start and stop the two servers under test (each on its own loopback port, own temp home)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.server_env import server_python

REPO = Path(__file__).resolve().parent.parent
# The bench runs in the test env, beside the reference prefect; Serverflow runs in the server env.
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProc:
    """A server subprocess with its log file; `api_url` ends in /api."""

    name: str
    api_url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    home: tempfile.TemporaryDirectory[str]
    startup_s: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def rss_mb(self) -> float | None:
        """Resident memory of the server process tree (Linux /proc), in MB."""
        return _tree_rss_mb(self.proc.pid)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGINT, then SIGTERM, then SIGKILL the process group we started (its own session), so helper
        processes it spawned (the emulator) go too, even when the main process already died. Idempotent."""
        if self.extra.get("stopped"):
            return
        self.extra["stopped"] = "1"
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
            if not _group_alive(self.proc.pid):
                break
            time.sleep(0.5)
        self.home.cleanup()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _tree_rss_mb(pid: int) -> float | None:
    try:
        children: dict[int, list[int]] = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                    children.setdefault(ppid, []).append(int(d))
                except (OSError, ValueError, IndexError):
                    continue
        total_kb, stack = 0, [pid]
        while stack:
            p = stack.pop()
            stack.extend(children.get(p, []))
            try:
                with open(f"/proc/{p}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            total_kb += int(line.split()[1])
            except OSError:
                continue
        return round(total_kb / 1024, 1)
    except OSError:
        return None


def wait_ready(srv: ServerProc, path: str, deadline_s: float, marker: str | None = None) -> None:
    """Poll `GET api_url + path` until 200 (and `marker` seen in the log, if given)."""
    t0 = time.monotonic()
    with httpx.Client(timeout=2.0) as c:
        while time.monotonic() - t0 < deadline_s:
            if srv.proc.poll() is not None:
                raise RuntimeError(f"{srv.name} exited with {srv.proc.returncode}:\n{srv.log_tail()}")
            if marker is None or marker in srv.log_path.read_text(errors="replace"):
                try:
                    if c.get(srv.api_url + path).status_code == 200:
                        srv.startup_s = round(time.monotonic() - t0, 2)
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.25)
    srv.stop()
    raise TimeoutError(f"{srv.name} not ready after {deadline_s}s:\n{srv.log_tail()}")


def _spawn(
    name: str, argv: list[str], env: dict[str, str], home: tempfile.TemporaryDirectory[str], api_url: str
) -> ServerProc:
    log_path = Path(home.name) / f"{name}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - the child owns it
    proc = subprocess.Popen(
        argv,
        cwd=str(REPO),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    return ServerProc(name=name, api_url=api_url, proc=proc, log_path=log_path, home=home)


def reference_env(home: str) -> dict[str, str]:
    """Environment for the prefect 3.9.1 reference server: its own PREFECT_HOME, SQLite, no UI/telemetry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        {
            "PREFECT_HOME": home,
            "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home}/prefect.db",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        }
    )
    return env


def start_reference(port: int | None = None, deadline_s: float = 90.0) -> ServerProc:
    """`prefect server start` (prefect==3.9.1, SQLite) on 127.0.0.1, temp PREFECT_HOME."""
    port = port or free_port()
    home = tempfile.TemporaryDirectory(prefix="bench-ref-")
    argv = [str(VENV_BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    srv = _spawn("reference", argv, reference_env(home.name), home, f"http://127.0.0.1:{port}/api")
    wait_ready(srv, "/health", deadline_s)
    return srv


def start_serverflow(
    port: int | None = None,
    emulator_port: int | None = None,
    counters_port: int | None = None,
    deadline_s: float = 90.0,
) -> ServerProc:
    """The Serverflow local stack (`python -m infra.local`) run under bench.sf_server, which adds
    botocore hooks that count DynamoDB calls and serves the counters on a side port."""
    port = port or free_port()
    emulator_port = emulator_port or free_port()
    counters_port = counters_port or free_port()
    home = tempfile.TemporaryDirectory(prefix="bench-sf-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        {
            "SERVERFLOW_HOME": home.name,
            "BENCH_COUNTERS_PORT": str(counters_port),
            "PYTHONUNBUFFERED": "1",
            # The stack's default (journaled data), in this run's temp home, never the user's own.
            "SERVERFLOW_DATA_DIR": str(Path(home.name) / "data"),
        }
    )
    argv = [server_python(), "-m", "bench.sf_server", "--port", str(port), "--emulator-port", str(emulator_port)]
    srv = _spawn("serverflow", argv, env, home, f"http://127.0.0.1:{port}/api")
    srv.extra["counters_url"] = f"http://127.0.0.1:{counters_port}"
    srv.extra["aws_endpoint_url"] = f"http://127.0.0.1:{emulator_port}"
    wait_ready(srv, "/health", deadline_s, marker="Serverflow API:")
    return srv
