"""Scheduled Lambda (EventBridge, every minute): auto-scheduled runs for every active
deployment schedule, and due runs sent to their pool's SQS queue (shared.maintenance.scheduler)."""

import os
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from shared.maintenance.scheduler import tick
from shared.observability import add_counts, log_tick

logger = Logger(service="serverflow-scheduler")
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Serverflow"), service="serverflow-scheduler")


# No inject_lambda_context: the local stack invokes scheduled handlers with context=None.
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: Any) -> dict[str, Any]:
    result = tick()
    add_counts(metrics, {"ScheduledRunsCreated": result.runs_created, "RunsDispatched": result.dispatched})
    log_tick(logger, "scheduler tick", asdict(result), event_id=event.get_id, scheduled_time=event.time)
    return asdict(result)
