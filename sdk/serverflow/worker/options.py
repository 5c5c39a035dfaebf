"""Worker settings: command-line flags first, then environment, then defaults."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name) or default)
    except ValueError:
        return default


def default_worker_name() -> str:
    # Unique per process: crash detection finds a dead worker's runs by this name (the run's
    # `prefect.worker.name` label), so two live workers must never share one.
    return f"serverflow-worker-{socket.gethostname()[:40]}-{uuid.uuid4().hex[:8]}"


@dataclass
class WorkerOptions:
    pool: str
    queues: list[str] = field(default_factory=list)
    name: str = field(default_factory=default_worker_name)
    once: bool = False
    limit: int = 10
    # Heartbeat interval (the server marks the worker OFFLINE after 3 missed intervals).
    heartbeat_seconds: float = field(default_factory=lambda: _env_float("SERVERFLOW_WORKER_HEARTBEAT_SECONDS", 30))
    # How often the API is polled for due runs (the safety net for lost SQS messages).
    query_seconds: float = field(default_factory=lambda: _env_float("SERVERFLOW_WORKER_QUERY_SECONDS", 10))
    prefetch_seconds: float = field(default_factory=lambda: _env_float("SERVERFLOW_WORKER_PREFETCH_SECONDS", 10))
    # SQS long poll; drain mode uses a short one so an empty queue is noticed quickly.
    wait_seconds: int = field(default_factory=lambda: int(_env_float("SERVERFLOW_WORKER_SQS_WAIT_SECONDS", 20)))
    # Visibility timeout asked for on receive (None: the queue's own, 60 s). A run being executed keeps
    # its message invisible by extending it; a poison message comes back after this long.
    visibility_timeout: int | None = field(
        default_factory=lambda: (
            int(os.environ["SERVERFLOW_WORKER_VISIBILITY_TIMEOUT"])
            if os.environ.get("SERVERFLOW_WORKER_VISIBILITY_TIMEOUT")
            else None
        )
    )
    # How often a running flow's state is checked for CANCELLING.
    cancel_check_seconds: float = field(default_factory=lambda: _env_float("SERVERFLOW_WORKER_CANCEL_CHECK_SECONDS", 2))
    # SIGTERM -> SIGKILL grace when killing a cancelled flow's process group.
    kill_grace_seconds: float = field(default_factory=lambda: _env_float("SERVERFLOW_WORKER_KILL_GRACE_SECONDS", 10))
    queue_url: str | None = field(default_factory=lambda: os.environ.get("SERVERFLOW_WORKER_QUEUE_URL") or None)
    use_sqs: bool = True

    @property
    def receive_wait_seconds(self) -> int:
        # Drain mode notices an empty queue within a second; otherwise the long poll also paces the API poll.
        if self.once:
            return min(self.wait_seconds, 1)
        return max(1, min(self.wait_seconds, int(self.query_seconds)))
