"""Send a due run to its pool's SQS queue at most once per scheduled time: the one entry to
dispatch for every caller (a created or rescheduled run, the scheduler's tick, a re-dispatch).

The message and its timing are messages.py's, the send sqs.py's; this adds the marker that
keeps the every-minute scheduler from re-sending, and never lets a dispatch failure fail
the caller: the message is only a hint, workers also poll the API.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from typing import Any

from shared.dispatch import messages, sqs
from shared.schemas.flow_runs import FlowRun
from shared.storage import dispatch_marks
from shared.storage import flow_runs as flow_run_store
from shared.storage import work_pools as pool_store
from shared.storage import work_queues as queue_store

logger = logging.getLogger("serverflow.dispatch.dispatcher")


def dispatch_run(run: FlowRun, pool: Any, queue: Any | None, now: datetime.datetime) -> bool:
    """True if a message was sent now. Skips (no marker) what dispatch would not send yet."""
    if pool is None or not getattr(pool, "sqs_queue_url", None):
        return False
    if messages.skip_reason(run, pool, queue, now) is not None:
        return False
    scheduled = run.next_scheduled_start_time
    if not dispatch_marks.claim(run.id, scheduled):
        return False  # already sent for this time (by us earlier, or a concurrent tick)
    try:
        message_id = sqs.enqueue_flow_run(run, pool, queue, now)
    except Exception:
        logger.exception("Could not send flow run %s to pool %s", run.id, getattr(pool, "name", "?"))
        message_id = None
    if message_id is None:
        dispatch_marks.release(run.id, scheduled)
        return False
    return True


def dispatch_new_run(run: FlowRun, now: datetime.datetime) -> bool:
    """A run just created from a deployment: find its queue and pool, then `dispatch_run`."""
    if run.work_queue_id is None:
        return False
    try:
        queue = queue_store.read(run.work_queue_id)
        pool = pool_store.read_by_name(queue.work_pool_name) if queue and queue.work_pool_name else None
        return dispatch_run(run, pool, queue, now)
    except Exception:
        logger.exception("Could not dispatch new flow run %s", run.id)
        return False


def due_in_pool_queues(now: datetime.datetime) -> Iterator[tuple[Any, Any, FlowRun]]:
    """(pool, queue, run) for every SCHEDULED run due within the dispatch window in the queues of
    unpaused pools that have an SQS queue: one range query per pool queue."""
    before = now + messages.DISPATCH_WINDOW
    for pool in pool_store.list_all():
        if pool.is_paused or not pool.sqs_queue_url:
            continue
        for queue in queue_store.list_for_pool(pool.name):
            if queue.is_paused:
                continue
            for run in flow_run_store.read_scheduled(work_queue_id=queue.id, before=before):
                yield pool, queue, run
