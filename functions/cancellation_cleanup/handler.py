"""Scheduled Lambda (EventBridge, every minute): runs stuck in CANCELLING past the timeout
become CANCELLED, and cancelled runs' task runs and subflows follow
(shared.maintenance.cancellation_cleanup)."""

import os
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from shared.maintenance.cancellation_cleanup import tick
from shared.observability import add_counts, log_tick

logger = Logger(service="serverflow-cancellation_cleanup")
metrics = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Serverflow"), service="serverflow-cancellation_cleanup"
)


# No inject_lambda_context: the local stack invokes scheduled handlers with context=None.
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: Any) -> dict[str, Any]:
    result = tick()
    add_counts(metrics, {"CancellingTimedOut": result.timed_out})
    log_tick(logger, "cancellation cleanup tick", asdict(result), event_id=event.get_id, scheduled_time=event.time)
    return asdict(result)
