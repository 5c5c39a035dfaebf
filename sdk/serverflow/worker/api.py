"""The worker's API calls, over the SDK's ``SyncClient`` (the same paths the prefect worker uses)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from uuid import UUID

from ..client import SyncClient
from ..client.models import FlowRun, OrchestrationResult, WorkPool
from ..exceptions import ObjectNotFound
from .queue import QueueLocation

WORKER_TYPE = "serverflow"


def _state(type_: str, name: str, message: str | None = None, **details: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"type": type_, "name": name, "state_details": details}
    if message:
        state["message"] = message
    return state


class WorkerAPI:
    def __init__(self, client: SyncClient, pool_name: str, worker_name: str, api_key: str | None = None) -> None:
        self.client = client
        self.api_key = api_key  # handed to flow-run subprocesses
        self.pool_name = pool_name
        self.worker_name = worker_name
        self.pool: WorkPool | None = None

    def read_pool(self) -> WorkPool:
        self.pool = self.client.read_work_pool(self.pool_name)
        return self.pool

    def dispatch_queue(self) -> QueueLocation | None:
        """Where the pool's hints arrive; None when the server does not say (not a Serverflow server)."""
        try:
            data = self.client.request("GET", f"/work_pools/{quote(self.pool_name, safe='')}/dispatch_queue")
        except ObjectNotFound:
            return None
        return QueueLocation(
            data.get("queue_url"), data.get("region"), data.get("endpoint_url"), bool(data.get("emulated"))
        )

    def heartbeat(self, interval_seconds: float) -> None:
        self.client.request(
            "POST",
            f"/work_pools/{self.pool_name}/workers/heartbeat",
            {"name": self.worker_name, "heartbeat_interval_seconds": max(1, int(interval_seconds))},
        )

    def scheduled_runs(self, queues: list[str], prefetch_seconds: float, limit: int) -> list[FlowRun]:
        before = datetime.now(UTC) + timedelta(seconds=prefetch_seconds)
        body = {"work_queue_names": queues or None, "scheduled_before": before.isoformat(), "limit": limit}
        rows = self.client.request("POST", f"/work_pools/{self.pool_name}/get_scheduled_flow_runs", body) or []
        return [FlowRun.model_validate(row["flow_run"]) for row in rows]

    def read_run(self, run_id: UUID | str) -> FlowRun:
        return self.client.read_flow_run(run_id)

    def read_deployment(self, deployment_id: UUID | str) -> dict[str, Any]:
        return dict(self.client.request("GET", f"/deployments/{deployment_id}"))

    def propose(
        self, run_id: UUID | str, type_: str, name: str, message: str | None = None, force: bool = False
    ) -> OrchestrationResult:
        return self.client.set_flow_run_state(run_id, _state(type_, name, message), force=force)

    def set_labels(self, run_id: UUID | str) -> None:
        labels = {
            "prefect.worker.name": self.worker_name,
            "prefect.worker.type": WORKER_TYPE,
            "prefect.work-pool.name": self.pool_name,
        }
        if self.pool is not None and self.pool.id is not None:
            labels["prefect.work-pool.id"] = str(self.pool.id)
        self.client.request("PATCH", f"/flow_runs/{run_id}/labels", labels)

    def set_infrastructure_pid(self, run_id: UUID | str, pid: str) -> None:
        self.client.request("PATCH", f"/flow_runs/{run_id}", {"infrastructure_pid": pid})
