"""Deployment readiness: polls mark deployments READY, the foreman marks unpolled ones NOT_READY
(the reference's mark_deployments_ready / mark_deployments_not_ready).

- A poll marks the polled deployments READY and stamps last_polled: a runner's poll names its
  deployments (`POST /deployments/get_scheduled_flow_runs`); a worker's poll of a pool
  (`POST /work_pools/{name}/get_scheduled_flow_runs`) or of a queue (`POST /work_queues/{id}/get_runs`)
  covers the deployments the polled queues serve (the deployments' by-pool index, GSI3).
- The foreman (the worker-expiry tick) marks NOT_READY the READY deployments that neither they
  nor their work queue were polled within LAST_POLLED_TIMEOUT (the reference's default, 60 s),
  read from the deployments' sparse READY-by-last-poll index: no Scan.
- A status change writes its `prefect.deployment.ready` / `.not-ready` event in the same
  transaction. A READY deployment's poll only refreshes last_polled, and at most every
  POLL_WRITE_INTERVAL_SECONDS: a worker polls every few seconds, the foreman needs a minute's
  precision, so most polls write nothing.

Every write is conditional on the deployment's version; a lost race is re-evaluated on a fresh
read, so a poll is not lost to a concurrent foreman tick (nor the other way round).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from functools import partial
from uuid import UUID

from shared.orchestration.deployment_events import deployment_status_event
from shared.schemas.deployments import DeploymentStatus
from shared.schemas.events import ReceivedEvent
from shared.schemas.work_pools import WorkQueue
from shared.storage import deployments as deployment_store
from shared.storage import flows as flow_store
from shared.storage import work_pools as pool_store
from shared.storage import work_queues as queue_store
from shared.storage.deployments import StoredDeployment

# A runner polls every few seconds; refreshing last_polled more often than this is noise.
POLL_WRITE_INTERVAL_SECONDS = 10
# The reference's foreman setting `deployment_last_polled_timeout_seconds` (default 60).
LAST_POLLED_TIMEOUT = datetime.timedelta(seconds=60)
MAX_WRITE_ATTEMPTS = 4

Change = Callable[[StoredDeployment], StoredDeployment | None]


def _status_event(deployment: StoredDeployment, now: datetime.datetime) -> ReceivedEvent:
    pool = pool_store.read_by_name(deployment.work_pool_name) if deployment.work_pool_name else None
    assert deployment.status is not None
    return deployment_status_event(deployment, deployment.status, now, flow_store.read(deployment.flow_id), pool)


def _write(deployment_id: UUID, change: Change, now: datetime.datetime) -> bool:
    """Apply `change` (None: nothing to write) to the current deployment; True if it was written."""
    for _ in range(MAX_WRITE_ATTEMPTS):
        loaded = deployment_store.load(deployment_id)
        if loaded is None:
            return False  # deleted meanwhile
        current, version = loaded
        after = change(current)
        if after is None:
            return False
        event = _status_event(after, now) if after.status != current.status else None
        if deployment_store.write_bookkeeping(after, version, event):
            return True
    return False


# --- polls ------------------------------------------------------------------------------


def _polled(now: datetime.datetime, current: StoredDeployment) -> StoredDeployment | None:
    fresh = (
        current.last_polled is not None and (now - current.last_polled).total_seconds() < POLL_WRITE_INTERVAL_SECONDS
    )
    if current.status == DeploymentStatus.READY and fresh:
        return None
    return current.model_copy(update={"status": DeploymentStatus.READY, "last_polled": now})


def mark_polled(deployments: Iterable[StoredDeployment], now: datetime.datetime) -> None:
    """READY + last_polled for deployments just polled; `updated` is left alone (the reference too)."""
    for deployment in deployments:
        # Judged first on the copy in hand, so a fresh READY deployment costs no read.
        if _polled(now, deployment) is not None:
            _write(deployment.id, partial(_polled, now), now)


def mark_queues_polled(queues: Iterable[WorkQueue], now: datetime.datetime) -> None:
    """A worker polled these queues: the deployments they serve are READY (one index Query per
    pool, or per queue when a single queue of a pool was polled)."""
    by_pool: dict[str, list[WorkQueue]] = {}
    for queue in queues:
        if queue.work_pool_name:  # a deployment is found by its pool's name (GSI3)
            by_pool.setdefault(queue.work_pool_name, []).append(queue)
    for pool_name, polled in by_pool.items():
        queue_name = polled[0].name if len(polled) == 1 else None
        ids = {q.id for q in polled}
        served = deployment_store.list_for_pool(pool_name, queue_name)
        mark_polled((d for d in served if d.work_queue_id in ids), now)


# --- the foreman ------------------------------------------------------------------------


def _stale(threshold: datetime.datetime, current: StoredDeployment) -> StoredDeployment | None:
    polled = current.last_polled
    if current.status != DeploymentStatus.READY or polled is None or polled >= threshold:
        return None  # polled (or changed) since the index was read
    return current.model_copy(update={"status": DeploymentStatus.NOT_READY})


def mark_not_ready_if_stale(now: datetime.datetime, timeout: datetime.timedelta = LAST_POLLED_TIMEOUT) -> int:
    """READY deployments whose last poll, and their queue's, are older than `timeout` become
    NOT_READY (a deployment whose queue no longer exists is judged on its own poll, as the
    reference's outer join does); returns how many."""
    threshold = now - timeout
    queue_polled: dict[UUID, datetime.datetime | None] = {}
    marked = 0
    for deployment in deployment_store.list_ready_polled_before(threshold):
        queue_id = deployment.work_queue_id
        if queue_id is not None:
            if queue_id not in queue_polled:
                queue = queue_store.read(queue_id)
                queue_polled[queue_id] = queue.last_polled if queue else None
            polled = queue_polled[queue_id]
            if polled is not None and polled >= threshold:
                continue
        marked += _write(deployment.id, partial(_stale, threshold), now)
    return marked
