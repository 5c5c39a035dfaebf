"""The prefect commands a user runs first exit 0 against the stack, on data the real client made;
`prefect flow-run cancel` of a run a real process worker is executing ends CANCELLED."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conformance.reference_server import isolated_prefect_env, prefect_cli
from tests.conformance.report import REPORT

SCRIPT = Path(__file__).resolve().parent / "scripts" / "cli_data.py"
SECTION = "CLI: commands exiting 0 against the stack"


def run_cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([prefect_cli(), *args], env=env, capture_output=True, text=True, timeout=timeout)


def wait_for_state(api_url: str, run_id: str, wanted: set[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = httpx.get(f"{api_url}/flow_runs/{run_id}", timeout=30).json().get("state_type")
        if state in wanted:
            return state
        time.sleep(0.5)
    return f"{state} (waited {timeout:.0f}s for {sorted(wanted)})"


@pytest.fixture(scope="module")
def cli_env(api_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = isolated_prefect_env(str(tmp_path_factory.mktemp("prefect-cli-home")), api_url)
    # The worker polls for scheduled and cancelling runs quickly, so the test waits seconds, not tens.
    env.update(
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_WORKER_PREFETCH_SECONDS="5",
        PREFECT_LOGGING_TO_API_BATCH_INTERVAL="0.3",
    )
    env["COLUMNS"] = "250"  # rich tables wide enough that names are printed whole
    return env


@pytest.fixture(scope="module")
def cli_data(cli_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    made = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            f"conformance-cli-pool-{tag}",
            str(tmp_path_factory.mktemp("src")),
            f"conformance-sleeper-{tag}",
        ],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert made.returncode == 0, (made.stdout + made.stderr)[-5000:]
    return json.loads([line for line in made.stdout.splitlines() if line.startswith("{")][-1])


class Worker:
    """`prefect worker start` as a subprocess, its output kept (bounded) for failure messages."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.output: deque[str] = deque(maxlen=200)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip())

    def tail(self) -> str:
        return "\n".join(self.output)


@pytest.fixture(scope="module")
def worker(cli_env: dict[str, str], cli_data: dict[str, str]) -> Iterator[Worker]:
    process = subprocess.Popen(
        [prefect_cli(), "worker", "start", "--pool", cli_data["pool"], "--type", "process"],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield Worker(process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_first_cli_commands_exit_0(cli_env: dict[str, str], cli_data: dict[str, str]) -> None:
    commands = [
        ["flow", "ls"],
        ["flow-run", "ls"],
        ["deployment", "ls"],
        ["work-pool", "ls"],
        ["work-queue", "ls"],
        ["flow-run", "logs", cli_data["finished_run_id"]],
        ["artifact", "ls"],
        ["config", "view"],
    ]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda args: run_cli(cli_env, *args), commands))
    failed = []
    for args, result in zip(commands, results, strict=True):
        REPORT.count(
            SECTION,
            "prefect " + " ".join(args[:2] if args[0] == "flow-run" else args[:1]),
            matched=result.returncode == 0,
        )
        if result.returncode != 0:
            failed.append(f"prefect {' '.join(args)} -> {result.returncode}\n{(result.stdout + result.stderr)[-2000:]}")
    assert not failed, "\n\n".join(failed)
    logs = results[commands.index(["flow-run", "logs", cli_data["finished_run_id"]])]
    assert "hello from the conformance suite" in logs.stdout
    assert "conformance-cli-artifact" in results[commands.index(["artifact", "ls"])].stdout


def test_flow_run_cancel_stops_the_run_a_process_worker_executes(
    api_url: str, cli_env: dict[str, str], cli_data: dict[str, str], worker: Worker
) -> None:
    run_id = cli_data["sleeping_run_id"]
    state = wait_for_state(api_url, run_id, {"RUNNING"}, timeout=150)
    assert state == "RUNNING", worker.tail()
    cancel = run_cli(cli_env, "flow-run", "cancel", run_id)
    REPORT.count(SECTION, "prefect flow-run cancel", matched=cancel.returncode == 0)
    assert cancel.returncode == 0, cancel.stdout + cancel.stderr
    state = wait_for_state(api_url, run_id, {"CANCELLED"}, timeout=150)
    assert state == "CANCELLED", worker.tail()
