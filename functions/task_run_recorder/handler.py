"""Stream-fed Lambda (the table's stream, batched, filtered to recordable task-run events): the
client's task-run state events become task runs and state history (shared.events.task_run_recorder).
Ingestion only stores the events; this records them, as the reference's task_run_recorder consumes its
bus. A failed batch is retried by the event source mapping; recording is idempotent (newest state wins,
a replay writes no run)."""

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from shared.events.task_run_recorder import record
from shared.storage import stream_records

logger = Logger(service="serverflow-task_run_recorder")
metrics = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Serverflow"), service="serverflow-task_run_recorder"
)


@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    new = stream_records.decode(event.get("Records") or [])
    recorded = record(new.events)
    metrics.add_metric(name="TaskRunsRecorded", unit=MetricUnit.Count, value=recorded)
    return {"events": len(new.events), "task_runs": recorded}
