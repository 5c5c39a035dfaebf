"""Stream-fed Lambda (the table's stream, batched over a short window, filtered to inserts of event items):
each batch's events become the time feed's pages (shared.storage.event_feed), one small write per minute of
the batch instead of a GSI copy of every event. A failed batch is retried by the event source mapping; the
same batch writes the same pages, so a retry adds no entry twice. No custom metric: Lambda's own invocation
and error counts are free."""

from typing import Any

from aws_lambda_powertools import Logger

from shared.storage import event_feed, stream_records

logger = Logger(service="serverflow-event_feed")


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    new = stream_records.decode(event.get("Records") or [])
    return {"events": len(new.events), "pages": event_feed.write(new.events)}
