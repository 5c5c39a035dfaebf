"""Event ingestion: store (deduplicated, with TTL); that write is the acknowledgement.

One code path for POST /events, WS /events/in and the API Gateway websocket Lambda.
Task runs are not recorded here: client-orchestrated task-run events are stored tagged
for the stream-fed recorder (functions/task_run_recorder, shared.events.task_run_recorder),
which records them from the table's stream, typically well under a second later, as the
reference's recorder consumes its messaging bus. The stream keeps what was stored, so an
acknowledged event is recorded even if this process dies right after answering.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pydantic import ValidationError

from shared.events.task_run_recorder import is_recordable
from shared.schemas.events import Event, ReceivedEvent
from shared.schemas.json_limits import JsonTooDeep, check_json_depth
from shared.storage import events as event_store

logger = logging.getLogger("serverflow.events")


def ingest(events: Iterable[Event], *, grouped: bool = False) -> list[ReceivedEvent]:
    """Receive and store events (one BatchWriteItem per 25); returns them as received.

    `grouped`: a client's batch (POST /events: the SDK posts up to 500 at once), whose task-run state events are
    stored in compressed groups (events.write_many). A websocket's frames come one by one: they stay items.
    """
    received = [event if isinstance(event, ReceivedEvent) else event.receive() for event in events]
    if received:
        event_store.write_many(received, recordable=is_recordable, grouped=grouped)
    return received


def parse_frame(text: str | bytes) -> Event | None:
    """One websocket text frame -> Event, or None (logged) when it is not a valid event.

    A bad frame is skipped rather than closing the socket: the client would otherwise
    reconnect and resend the same frame forever.
    """
    try:
        check_json_depth(text)
        return Event.model_validate_json(text)
    except JsonTooDeep as exc:
        logger.warning("Ignoring event frame: %s", exc)
        return None
    except ValidationError as exc:
        logger.warning("Ignoring invalid event frame: %s", exc.errors(include_url=False)[:3])
        return None


def ingest_frame(text: str | bytes) -> bool:
    event = parse_frame(text)
    if event is None:
        return False
    ingest([event])
    return True
