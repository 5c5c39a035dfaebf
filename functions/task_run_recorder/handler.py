"""Stream-fed Lambda (the table's stream, batched, filtered to recordable task-run events): the
client's task-run state events become task runs and state history (shared.events.task_run_recorder).
Ingestion only stores the events; this records them, as the reference's task_run_recorder consumes its
bus. A failed batch is retried by the event source mapping; recording is idempotent (newest state wins,
a replay writes no run). No custom metric: Lambda's own invocation and error counts are free."""

from typing import Any

from aws_lambda_powertools import Logger

from shared.events.task_run_recorder import record
from shared.storage import stream_records

logger = Logger(service="serverflow-task_run_recorder")


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    new = stream_records.decode(event.get("Records") or [])
    return {"events": len(new.events), "task_runs": record(new.events)}
