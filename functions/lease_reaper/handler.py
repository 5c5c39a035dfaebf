"""Scheduled Lambda (EventBridge, every minute): expired concurrency leases give their
slots back (shared.maintenance.lease_reaper)."""

import os
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from shared.maintenance.lease_reaper import tick

logger = Logger(service="serverflow-lease_reaper")
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Serverflow"), service="serverflow-lease_reaper")


# No inject_lambda_context: the local stack invokes scheduled handlers with context=None.
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: Any) -> dict[str, Any]:
    result = tick()
    metrics.add_metric(name="LeasesReclaimed", unit=MetricUnit.Count, value=result.reclaimed)
    logger.info("lease reaper tick", extra={"event_id": event.get_id, "scheduled_time": event.time, **asdict(result)})
    return asdict(result)
