"""Decode the table's stream (NEW_IMAGE records) into what consumers care about.

The only code that knows which stored items are events, logs and queued background task
runs on the stream: the
fan-out, the trigger evaluator and the task-run recorder receive domain objects, so a change in how events are
stored changes this module, not them. Records of other entities, removals (TTL expiry,
deletes) and bodies that no longer validate are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from shared.schemas.events import ReceivedEvent
from shared.schemas.logs import Log
from shared.storage import event_groups, log_groups, task_queue
from shared.storage import events as event_store
from shared.storage.table import TableItem, body_of_image

logger = logging.getLogger("serverflow.stream")


@dataclass
class NewItems:
    events: list[ReceivedEvent] = field(default_factory=list)
    logs: list[Log] = field(default_factory=list)
    queued_task_runs: list[task_queue.QueuedTaskRun] = field(default_factory=list)


def _string(image: Mapping[str, Any], name: str) -> str | None:
    value = image.get(name)
    if isinstance(value, Mapping):
        found = value.get("S")
        return found if isinstance(found, str) else None
    return None


def _add_new(found: list[ReceivedEvent], events: list[ReceivedEvent], seen: set[UUID]) -> None:
    """Append the events whose id the batch has not delivered yet (a batch split differently when retried
    stores an event in two groups)."""
    for event in events:
        if event.id not in seen:
            seen.add(event.id)
            found.append(event)


def decode(records: Iterable[Mapping[str, Any]]) -> NewItems:
    """Records as Lambda receives them (`{"eventName", "dynamodb": {"NewImage": ...}}`)."""
    found = NewItems()
    seen_events: set[UUID] = set()
    for record in records:
        if record.get("eventName") not in ("INSERT", "MODIFY"):
            continue
        image = (record.get("dynamodb") or {}).get("NewImage") or {}
        entity, body = _string(image, "entity"), body_of_image(image)
        if body is None:
            continue
        try:
            if entity == event_store.ENTITY:
                event = ReceivedEvent.model_validate_json(body)
                # A re-delivered event overwrites its own item (MODIFY): deliver it once.
                if record.get("eventName") == "INSERT":
                    _add_new(found.events, [event], seen_events)
            elif entity == event_groups.ENTITY and record.get("eventName") == "INSERT":
                # A retried batch rewrites its groups (MODIFY): its events came with the INSERT.
                _add_new(found.events, event_groups.events_in(body), seen_events)
            elif entity in log_groups.ENTITIES:
                found.logs.extend(log_groups.logs_in(entity, body))
            elif entity == task_queue.ENTITY and record.get("eventName") == "INSERT":
                pk, sk = _string(image, "PK"), _string(image, "SK")
                if pk and sk:
                    found.queued_task_runs.append(task_queue.from_item(TableItem(pk, sk, entity=entity, body=body)))
        except ValidationError:
            logger.warning("Skipping a stream record whose %s body does not validate", entity)
    return found
