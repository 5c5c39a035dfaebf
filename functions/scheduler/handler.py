"""Scheduled Lambda (EventBridge, every minute): auto-scheduled runs for every active
deployment schedule, and due runs sent to their pool's SQS queue (shared.maintenance.scheduler)."""

import os
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from shared.maintenance.scheduler import tick

logger = Logger(service="serverflow-scheduler")
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Serverflow"), service="serverflow-scheduler")


# No inject_lambda_context: the local stack invokes scheduled handlers with context=None.
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: Any) -> dict[str, Any]:
    result = tick()
    metrics.add_metric(name="ScheduledRunsCreated", unit=MetricUnit.Count, value=result.runs_created)
    metrics.add_metric(name="RunsDispatched", unit=MetricUnit.Count, value=result.dispatched)
    logger.info("scheduler tick", extra={"event_id": event.get_id, "scheduled_time": event.time, **asdict(result)})
    return asdict(result)
