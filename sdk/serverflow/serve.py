"""``flow.serve(...)``: one long-running process that is both the deployment and its worker.

It creates (or updates) a deployment without a work pool, then polls ``POST /deployments/
get_scheduled_flow_runs`` for that deployment's due runs and executes each in a subprocess, exactly as the
worker does for a pool (claimed by the orchestrated SCHEDULED -> PENDING transition, cancellation honoured,
Crashed reported for a process that dies). On exit (Ctrl-C, SIGTERM) the deployment is paused, as prefect's
runner does, so the scheduler stops making runs nobody will execute.
"""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .client import SyncClient
from .client.models import FlowRun
from .deployments import apply
from .worker import record
from .worker.api import WorkerAPI
from .worker.console import say
from .worker.options import WorkerOptions

if TYPE_CHECKING:
    from .flows import Flow


class DeploymentRunsAPI(WorkerAPI):
    """The worker's API calls, with runs taken from one deployment instead of a work pool."""

    def __init__(self, client: SyncClient, deployment_id: str, runner_name: str) -> None:
        super().__init__(client, pool_name="", worker_name=runner_name)
        self.deployment_id = deployment_id

    def scheduled_runs(self, queues: list[str], prefetch_seconds: float, limit: int) -> list[FlowRun]:
        before = datetime.now(UTC) + timedelta(seconds=prefetch_seconds)
        body = {"deployment_ids": [self.deployment_id], "scheduled_before": before.isoformat(), "limit": limit}
        rows = self.client.request("POST", "/deployments/get_scheduled_flow_runs", body) or []
        return [FlowRun.model_validate(row) for row in rows]

    def set_labels(self, run_id: Any) -> None:
        self.client.request("PATCH", f"/flow_runs/{run_id}/labels", {"prefect.runner.name": self.worker_name})


def serve(
    flow: Flow[..., Any],
    name: str,
    *,
    limit: int = 10,
    poll_seconds: float = 10.0,
    stop_after: float | None = None,
    **deployment_options: Any,
) -> int:
    """Create the deployment and run its scheduled runs until stopped; returns how many runs executed.
    ``stop_after`` (seconds) bounds the loop (tests, batch jobs); ``deployment_options`` are ``apply``'s."""
    stopping = threading.Event()
    options = WorkerOptions(pool="", limit=max(1, limit), use_sqs=False, query_seconds=poll_seconds)
    options.name = f"serve-{flow.name}-{name}"[:100]
    with SyncClient() as client:
        deployment_id = apply(flow, name, None, client=client, **deployment_options)
        say(
            f"serving deployment {flow.name}/{name} ({deployment_id}); polling every {poll_seconds:g}s, up to {options.limit} at once"
        )
        api = DeploymentRunsAPI(client, deployment_id, options.name)
        previous = _install_signals(stopping)
        done = 0
        deadline = None if stop_after is None else time.monotonic() + stop_after
        in_flight: set[str] = set()
        lock = threading.Lock()

        def run_one(run_id: str) -> None:
            nonlocal done
            try:
                if record.handle_run(api, run_id, options, stopping=stopping) is record.Outcome.DONE:
                    with lock:
                        done += 1
            finally:
                with lock:
                    in_flight.discard(run_id)

        try:
            with ThreadPoolExecutor(max_workers=options.limit, thread_name_prefix="served-run") as executor:
                while not stopping.is_set() and (deadline is None or time.monotonic() < deadline):
                    with lock:
                        free = options.limit - len(in_flight)
                    if free > 0:
                        try:
                            runs = api.scheduled_runs([], options.prefetch_seconds, free)
                        except Exception as exc:  # noqa: BLE001 - a failed poll is retried next round
                            say(f"polling the API failed: {exc}")
                            runs = []
                        for run in runs:
                            run_id = str(run.id)
                            with lock:
                                if run_id in in_flight:
                                    continue
                                in_flight.add(run_id)
                            say(f"flow run {run.name!r} ({run_id}) is due")
                            executor.submit(run_one, run_id)
                    stopping.wait(min(poll_seconds, 1.0) if in_flight else poll_seconds)
                stopping.set()  # running flows are stopped and reported by their supervisors
        finally:
            _restore_signals(previous)
            try:
                client.request("PATCH", f"/deployments/{deployment_id}", {"paused": True})
                say(f"deployment {flow.name}/{name} paused; served {done} run(s)")
            except Exception as exc:  # noqa: BLE001 - exiting anyway
                say(f"could not pause deployment {deployment_id}: {exc}")
        return done


def _install_signals(stopping: threading.Event) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, lambda *_: stopping.set())
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
