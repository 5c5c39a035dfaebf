"""Execute a claimed run in a subprocess and report what the process could not: Crashed when it died
without a final state, Cancelled when the run was cancelled (CANCELLING -> process group killed ->
CANCELLED with force, as the reference worker does)."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..client.models import FlowRun
from . import process
from .api import WorkerAPI
from .claim import Claim
from .console import elapsed, say
from .options import WorkerOptions

TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}


@dataclass
class Report:
    run_id: str
    state_type: str | None
    exit_code: int | None


def _flow_label(run: FlowRun, claim: Claim) -> str:
    entry = claim.deployment.get("entrypoint") or "?"
    return f"run {run.name!r} ({run.id}) flow {entry}"


def _state_of(api: WorkerAPI, run_id: object) -> str | None:
    try:
        return api.read_run(str(run_id)).state_type
    except Exception:  # noqa: BLE001 - a missed poll is retried next tick
        return None


def execute(
    api: WorkerAPI,
    claim: Claim,
    options: WorkerOptions,
    tick: Callable[[], None] = lambda: None,
    stopping: threading.Event | None = None,
) -> Report:
    assert claim.run is not None
    run = claim.run
    label = _flow_label(run, claim)
    started = time.monotonic()
    env = process.environment(run.id, claim.deployment, api.client.api_url, api.api_key)
    try:
        proc = process.start(run.id, env)
    except OSError as exc:
        api.propose(run.id, "CRASHED", "Crashed", f"Failed to submit flow run to infrastructure: {exc}")
        say(f"{label}: could not start: {exc}")
        return Report(str(run.id), "CRASHED", None)
    say(f"{label}: started (pid {proc.pid})")
    try:
        api.set_infrastructure_pid(run.id, f"{socket.gethostname()}:{proc.pid}")
    except Exception:  # noqa: BLE001 - only cancellation bookkeeping; the worker kills by its own handle
        pass
    cancelled = stopped = False
    code: int | None = None
    while True:
        try:
            code = proc.wait(timeout=options.cancel_check_seconds)
            break
        except subprocess.TimeoutExpired:
            pass
        tick()
        if stopping is not None and stopping.is_set():
            say(f"{label}: worker stopping, killing the flow process")
            code, stopped = process.kill_group(proc, options.kill_grace_seconds), True
            break
        if _state_of(api, run.id) == "CANCELLING":
            say(f"{label}: cancellation requested after {elapsed(started)}, killing the flow process")
            code, cancelled = process.kill_group(proc, options.kill_grace_seconds), True
            break
    final = _report(api, run, code, cancelled, stopped)
    say(f"{label}: {final or 'unknown state'} after {elapsed(started)} (exit code {code})")
    return Report(str(run.id), final, code)


def _report(api: WorkerAPI, run: FlowRun, code: int, cancelled: bool, stopped: bool) -> str | None:
    state = _state_of(api, run.id)
    if cancelled or (state == "CANCELLING"):
        api.propose(
            run.id, "CANCELLED", "Cancelled", "Flow run was cancelled; the worker stopped its process.", force=True
        )
        return "CANCELLED"
    if state in TERMINAL or state == "SCHEDULED":  # reported by the flow itself (SCHEDULED: a retry was scheduled)
        return state
    if stopped:
        message = "The worker running this flow run was stopped."
    elif code != 0:
        message = f"Flow run infrastructure exited with non-zero status code {code}."
    else:
        message = "Flow run process exited without reporting a final state."
    result = api.propose(run.id, "CRASHED", "Crashed", message)
    return result.state.type if result.state is not None else state
