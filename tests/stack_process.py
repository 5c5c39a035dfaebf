"""Start the local stack (`python -m infra.local`, in the server env) as a subprocess for tests and benchmarks."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import httpx

from tests.server_env import REPO_ROOT, server_python

# The first lines a stack prints (runtime, URLs) are kept whatever follows them.
STARTUP_LINES = 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class StackProcess:
    port: int = field(default_factory=free_port)
    emulator_port: int = field(default_factory=free_port)
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    # Its own process group, so a test can send Ctrl-C to the whole group as a terminal does.
    own_group: bool = False
    # Tests keep nothing (--in-memory) unless they choose; False runs the stack's own default.
    default_storage: bool = True
    process: subprocess.Popen[str] | None = None
    # The last lines, appended by the drain thread: read them through `output` (a copy), since looping
    # over the deque itself while the thread appends raises "deque mutated during iteration".
    _tail: deque[str] = field(default_factory=lambda: deque(maxlen=400))
    # The first lines (what the stack prints at start: runtime, URLs), kept however much follows.
    startup: list[str] = field(default_factory=list)

    @property
    def output(self) -> list[str]:
        return list(self._tail)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def aws_endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    def emulator_pid(self) -> int:
        """The embedded emulator's process id, as the stack printed it (a kill -9 test kills it too)."""
        for line in self.startup + self.output:
            match = re.match(r"AWS emulator: \S+ \(pid (\d+)\)", line)
            if match:
                return int(match.group(1))
        raise AssertionError("no emulator pid in:\n" + "\n".join(self.output))

    def start(self, timeout: float = 120.0) -> StackProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        chosen = {"--data-dir", "--persist", "--in-memory", "--aws-endpoint-url"} & set(self.extra_args)
        storage = ["--in-memory"] if self.default_storage and not chosen else []
        self.process = subprocess.Popen(
            # The server env (exactly the lock), never the test tools' interpreter.
            [
                server_python(),
                "-m",
                "infra.local",
                "--port",
                str(self.port),
                "--emulator-port",
                str(self.emulator_port),
                *storage,
                *self.extra_args,
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=self.own_group,
        )
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("Local stack exited:\n" + "\n".join(self.output))
            try:
                if httpx.get(f"{self.api_url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise TimeoutError("Local stack did not become healthy:\n" + "\n".join(self.output))

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self._tail.append(line.rstrip())
            if len(self.startup) < STARTUP_LINES:
                self.startup.append(line.rstrip())

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()
