"""Scheduled Lambda (EventBridge, every minute): SCHEDULED runs past due by the threshold
become Late (shared.maintenance.late_runs)."""

import os
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from shared.maintenance.late_runs import tick
from shared.observability import add_counts, log_tick

logger = Logger(service="serverflow-late_runs")
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Serverflow"), service="serverflow-late_runs")


# No inject_lambda_context: the local stack invokes scheduled handlers with context=None.
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: Any) -> dict[str, Any]:
    result = tick()
    add_counts(metrics, {"RunsMarkedLate": result.marked_late})
    log_tick(logger, "late runs tick", asdict(result), event_id=event.get_id, scheduled_time=event.time)
    return asdict(result)
