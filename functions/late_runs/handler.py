"""Scheduled Lambda (EventBridge, every minute): SCHEDULED runs past due by the threshold
become Late (shared.maintenance.late_runs)."""

import os
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from shared.maintenance.late_runs import tick

logger = Logger(service="serverflow-late_runs")
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Serverflow"), service="serverflow-late_runs")


# No inject_lambda_context: the local stack invokes scheduled handlers with context=None.
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: Any) -> dict[str, Any]:
    result = tick()
    metrics.add_metric(name="RunsMarkedLate", unit=MetricUnit.Count, value=result.marked_late)
    logger.info("late runs tick", extra={"event_id": event.get_id, "scheduled_time": event.time, **asdict(result)})
    return asdict(result)
