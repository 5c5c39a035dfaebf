"""Stream-fed Lambda (the table's stream, batched): new events are evaluated against the
automations' triggers (shared.automations.evaluator.reactive). A failed batch is retried
by the event source mapping; evaluation is idempotent (fired markers, counted ids)."""

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from shared.automations.evaluator import reactive
from shared.storage import stream_records

logger = Logger(service="serverflow-automation_triggers")
metrics = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Serverflow"), service="serverflow-automation_triggers"
)


@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    new = stream_records.decode(event.get("Records") or [])
    fired = reactive(new.events)
    metrics.add_metric(name="EventsEvaluated", unit=MetricUnit.Count, value=len(new.events))
    metrics.add_metric(name="AutomationsFired", unit=MetricUnit.Count, value=fired)
    return {"events": len(new.events), "fired": fired}
