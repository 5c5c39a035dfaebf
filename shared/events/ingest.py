"""Event ingestion: store (deduplicated, with TTL) and record task runs, synchronously.

One code path for POST /events, WS /events/in and the API Gateway websocket Lambda.
Recording happens before the call returns, so a task run is readable as soon as the
client's event has been accepted (the reference records asynchronously, a few
seconds later).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from uuid import UUID

from pydantic import ValidationError

from shared.events.task_run_recorder import is_recordable, task_run_from_event
from shared.schemas.events import Event, ReceivedEvent
from shared.schemas.json_limits import JsonTooDeep, check_json_depth
from shared.schemas.states import State
from shared.schemas.task_runs import TaskRun
from shared.storage import events as event_store
from shared.storage.task_run_states import record_many as record_history
from shared.storage.task_runs import record_many as record_task_runs

logger = logging.getLogger("serverflow.events")


def ingest(events: Iterable[Event]) -> list[ReceivedEvent]:
    """Receive, store and record events; returns them as received.

    A batch costs one BatchWriteItem per 25 events, the batched upsert of its task runs with
    their newest states (task_runs.record_many: one BatchGetItem per 50 runs, one
    TransactWriteItems per 50 new runs; older states in the batch go to history only), and
    one BatchWriteItem per 25 history states.
    """
    received = [event if isinstance(event, ReceivedEvent) else event.receive() for event in events]
    if not received:
        return received
    event_store.write_many(received)
    # Always recorded, even for duplicates: an earlier attempt may have stored the event and
    # died before recording; recording is idempotent.
    per_run = list(_task_run_states(received).values())
    canonical = record_task_runs([states[-1] for states in per_run])
    record_history((run.id, state) for run, states in zip(canonical, per_run) for _, state in states)
    return received


def _task_run_states(received: list[ReceivedEvent]) -> dict[UUID, list[tuple[TaskRun, State]]]:
    """Recordable events grouped per task run, oldest state first."""
    grouped: dict[UUID, list[tuple[TaskRun, State]]] = defaultdict(list)
    for event in received:
        if not is_recordable(event):
            continue
        try:
            run, state = task_run_from_event(event)
        except (ValueError, ValidationError):
            logger.warning("Dropping malformed task-run event %s (%s)", event.id, event.event, exc_info=True)
            continue
        grouped[run.id].append((run, state))
    for states in grouped.values():
        states.sort(key=lambda pair: pair[1].timestamp)
    return grouped


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
