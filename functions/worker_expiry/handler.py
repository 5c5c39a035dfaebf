"""Scheduled Lambda (EventBridge, every minute): workers without a recent heartbeat go
OFFLINE, and their pools' and queues' statuses follow (the reference's foreman); the runs they
left PENDING/RUNNING become CRASHED (rescheduled when retries allow)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from shared.maintenance.worker_crashes import expire_workers
from shared.observability import log_tick

logger = Logger(service="serverflow-worker_expiry")


# No inject_lambda_context: the local stack invokes scheduled handlers with context=None.
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: Any) -> dict[str, Any]:
    result = expire_workers()
    log_tick(logger, "worker expiry tick", result, event_id=event.get_id, scheduled_time=event.time)
    return result
