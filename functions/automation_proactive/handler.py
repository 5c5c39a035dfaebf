"""Scheduled Lambda (EventBridge): proactive triggers whose windows are over are evaluated
(shared.automations.evaluator.proactive)."""

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from shared.automations.evaluator import proactive

logger = Logger(service="serverflow-automation_proactive")
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Serverflow"), service="serverflow-automation_proactive")


# No inject_lambda_context: the local stack invokes scheduled handlers with context=None.
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: Any) -> dict[str, int]:
    fired = proactive()
    metrics.add_metric(name="AutomationsFired", unit=MetricUnit.Count, value=fired)
    logger.info("proactive automations tick", extra={"event_id": event.get_id, "fired": fired})
    return {"fired": fired}
