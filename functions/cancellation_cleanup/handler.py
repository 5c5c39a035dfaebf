"""Scheduled Lambda (EventBridge, every minute): runs stuck in CANCELLING past the timeout
become CANCELLED, and cancelled runs' task runs and subflows follow
(shared.maintenance.cancellation_cleanup)."""

import os
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from shared.maintenance.cancellation_cleanup import tick

logger = Logger(service="serverflow-cancellation_cleanup")
metrics = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Serverflow"), service="serverflow-cancellation_cleanup"
)


# No inject_lambda_context: the local stack invokes scheduled handlers with context=None.
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: Any) -> dict[str, Any]:
    result = tick()
    metrics.add_metric(name="CancellingTimedOut", unit=MetricUnit.Count, value=result.timed_out)
    logger.info("cancellation cleanup tick", extra={"event_id": event.get_id, "scheduled_time": event.time, **asdict(result)})
    return asdict(result)
