"""The late-runs tick: SCHEDULED runs past due by the threshold are relabelled "Late"
through the orchestrated set_state (so a run a worker claims meanwhile is left alone).

Reads go through the runs' sparse "scheduled" index only (no Scan): one range query
`next_scheduled_start_time <= now - threshold` per work queue, per deployment without a
queue, and for runs with neither.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from shared.orchestration.maintenance_rules import LATE_AFTER, is_late, late_state
from shared.schemas.base import now_utc
from shared.schemas.flow_runs import FlowRun
from shared.storage import deployments as deployment_store
from shared.storage import flow_runs as flow_run_store
from shared.storage import run_lifecycle
from shared.storage import work_queues as queue_store
from shared.storage.errors import ObjectNotFound

logger = logging.getLogger("serverflow.maintenance.late_runs")


@dataclass
class LateRunsResult:
    checked: int = 0
    marked_late: int = 0


def _candidates(before: datetime.datetime) -> Iterator[FlowRun]:
    for queue in queue_store.list_all():
        yield from flow_run_store.read_scheduled(work_queue_id=queue.id, before=before)
    for deployment in deployment_store.list_unqueued():
        yield from flow_run_store.read_scheduled(deployment_id=deployment.id, before=before)
    yield from flow_run_store.read_scheduled(before=before)  # neither queue nor deployment


def tick(now: datetime.datetime | None = None, after: datetime.timedelta = LATE_AFTER) -> LateRunsResult:
    now = now or now_utc()
    result = LateRunsResult()
    for run in _candidates(now - after):
        result.checked += 1
        if not is_late(run, now, after):
            continue
        try:
            outcome = run_lifecycle.set_flow_run_state(run.id, late_state(run))
        except ObjectNotFound:
            continue  # deleted meanwhile
        result.marked_late += outcome.write
    return result
