"""Stream-fed Lambda (the table's stream, batched): new events and logs go out to the
/events/out and /logs/out subscribers (shared.events.subscriptions), newly queued
background task runs to a subscribed task worker (shared.events.task_subscriptions)."""

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from shared.events import task_subscriptions
from shared.events.connections_out import configured_poster
from shared.events.subscriptions import fan_out
from shared.storage import stream_records

logger = Logger(service="serverflow-subscriptions_fanout")
metrics = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Serverflow"), service="serverflow-subscriptions_fanout"
)


@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    new = stream_records.decode(event.get("Records") or [])
    post = configured_poster()
    posted = fan_out(new, post)
    delivered = task_subscriptions.fan_out(new.queued_task_runs, post)
    metrics.add_metric(name="FramesPosted", unit=MetricUnit.Count, value=posted + delivered)
    return {"events": len(new.events), "logs": len(new.logs), "posted": posted, "task_runs_delivered": delivered}
