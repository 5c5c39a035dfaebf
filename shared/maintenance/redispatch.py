"""After a restart of a store whose queues lost their messages: send the due runs again.

The embedded emulator journals the table and the queues, not in-flight SQS messages
(they are wake-up hints, not state). The dispatch markers survived, so without this the
scheduler would never re-send a run it had already sent; workers polling the API would
still find them, but an SQS-fed worker would wait. A duplicate message is harmless:
workers claim only through get_scheduled_flow_runs.
"""

from __future__ import annotations

import logging

from shared.dispatch import dispatcher
from shared.schemas.base import now_utc
from shared.storage import dispatch_marks

logger = logging.getLogger("serverflow.maintenance.redispatch")


def redispatch_scheduled_runs() -> int:
    """Re-send every scheduled run due within the dispatch window; returns how many were sent."""
    now = now_utc()
    sent = 0
    for pool, queue, run in dispatcher.due_in_pool_queues(now):
        # The marker says "sent", but the message did not survive: clear it, send again.
        dispatch_marks.release(run.id, run.next_scheduled_start_time)
        sent += dispatcher.dispatch_run(run, pool, queue, now)
    logger.info("Re-dispatched %d scheduled runs", sent)
    return sent
