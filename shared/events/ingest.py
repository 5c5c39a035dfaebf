"""Event ingestion: store (deduplicated, with TTL) and record task runs, synchronously.

One code path for POST /events, WS /events/in and the API Gateway websocket Lambda.
Recording happens before the call returns, so a task run is readable as soon as the
client's event has been accepted (the reference records asynchronously, a few
seconds later).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pydantic import ValidationError

from shared.events.task_run_recorder import record_event
from shared.schemas.events import Event, ReceivedEvent
from shared.storage import events as event_store

logger = logging.getLogger("serverflow.events")


def ingest(events: Iterable[Event]) -> list[ReceivedEvent]:
    """Receive, store and record events; returns them as received."""
    received = [event if isinstance(event, ReceivedEvent) else event.receive() for event in events]
    for event in received:
        event_store.write(event)
        try:
            # Always recorded, even when the event was a duplicate: an earlier attempt may
            # have stored the event and died before recording; recording is idempotent.
            record_event(event)
        except (ValueError, ValidationError):
            logger.warning("Dropping malformed task-run event %s (%s)", event.id, event.event, exc_info=True)
    return received


def parse_frame(text: str | bytes) -> Event | None:
    """One websocket text frame -> Event, or None (logged) when it is not a valid event.

    A bad frame is skipped rather than closing the socket: the client would otherwise
    reconnect and resend the same frame forever.
    """
    try:
        return Event.model_validate_json(text)
    except ValidationError as exc:
        logger.warning("Ignoring invalid event frame: %s", exc.errors(include_url=False)[:3])
        return None


def ingest_frame(text: str | bytes) -> bool:
    event = parse_frame(text)
    if event is None:
        return False
    ingest([event])
    return True
