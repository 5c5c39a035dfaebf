"""The template's stream-fed functions as the local stack runs them: the task-run recorder's filter matches
exactly the event items storage tags for it, only idempotent consumers start from TRIM_HORIZON, and the event
feed's pages are the same whenever a batch is retried."""

from __future__ import annotations

import datetime
import json
import random
import uuid
from typing import Any

from infra.local.streams import StreamFunction, passes, stream_functions
from shared.schemas.events import ReceivedEvent
from shared.storage import event_feed, log_groups
from shared.storage import events as event_store
from shared.storage.table import TableItem


def _function(logical_id: str) -> StreamFunction:
    (found,) = [f for f in stream_functions() if f.logical_id == logical_id]
    return found


def _record(event_name: str, image: dict[str, Any]) -> dict[str, Any]:
    return {"eventName": event_name, "dynamodb": {"NewImage": image}}


def test_the_recorder_takes_inserts_of_the_events_storage_tags_for_it_only() -> None:
    recorder = _function("TaskRunRecorderFunction")
    tagged = {"entity": {"S": event_store.ENTITY}, "stream_feed": {"S": event_store.TASK_RUN_FEED}}
    assert passes(recorder, _record("INSERT", tagged))
    assert not passes(recorder, _record("MODIFY", tagged))  # a resent event: recorded from its INSERT
    assert not passes(recorder, _record("INSERT", {"entity": {"S": event_store.ENTITY}}))  # any other event
    assert not passes(recorder, _record("INSERT", {"entity": {"S": "log"}}))


def test_the_fan_out_takes_inserts_of_log_items_of_both_kinds_only() -> None:
    """/logs/out is fed by log group items and, written before groups, single-line items; a retried POST
    rewrites its groups (MODIFY): nothing new to send."""
    fan_out = _function("SubscriptionsFanoutFunction")
    for entity in log_groups.ENTITIES:
        assert passes(fan_out, _record("INSERT", {"entity": {"S": entity}}))
        assert not passes(fan_out, _record("MODIFY", {"entity": {"S": entity}}))


def test_only_idempotent_consumers_replay_the_stream_at_start() -> None:
    # The recorder re-takes what a crash left unprocessed; the automations evaluator must never fire twice.
    assert _function("TaskRunRecorderFunction").starting_position == "TRIM_HORIZON"
    assert _function("EventFeedFunction").starting_position == "TRIM_HORIZON"
    assert _function("AutomationTriggersFunction").starting_position == "LATEST"
    assert _function("SubscriptionsFanoutFunction").starting_position == "LATEST"


def test_the_event_feed_pages_every_inserted_event_and_a_retried_batch_writes_the_same_pages() -> None:
    feed = _function("EventFeedFunction")
    assert feed.batching_window >= 1  # a quiet stack still gathers a flow run's events into few pages
    assert passes(feed, _record("INSERT", {"entity": {"S": event_store.ENTITY}}))
    assert not passes(feed, _record("MODIFY", {"entity": {"S": event_store.ENTITY}}))  # resent: paged at INSERT
    assert not passes(feed, _record("INSERT", {"entity": {"S": "log"}}))

    start = datetime.datetime(2026, 1, 1, 12, 0, 50, tzinfo=datetime.UTC)
    batch = [
        ReceivedEvent(
            id=uuid.uuid4(),
            occurred=start + datetime.timedelta(seconds=5 * i),
            event=f"e.{i}",
            resource={"prefect.resource.id": f"r.{i}"},
            received=start,
        )
        for i in range(4)
    ]

    def written(events: list[ReceivedEvent]) -> list[tuple[str, str, str | None]]:
        return sorted((page.PK, page.SK, page.body) for page in event_feed.pages(events))

    pages = written(batch)
    # One page per minute of `occurred` (12:00 and 12:01), each entry once, in keys of that day.
    assert [pk.rsplit("#", 1)[0] for pk, _, _ in pages] == ["EVENT_FEED#2026-01-01"] * 2
    assert sorted(sk[:16] for _, sk, _ in pages) == ["2026-01-01T12:00", "2026-01-01T12:01"]
    # Retried in another order, with an event delivered twice: the same keys and bodies (no duplicate entry).
    assert written([*batch[::-1], batch[0]]) == pages


def test_feed_pages_of_long_varied_event_names_fit_in_a_dynamodb_item() -> None:
    # Event names may be 1,024 characters. A page over DynamoDB's 400 KB item limit fails its whole batch, which
    # the event source mapping then retries until the records expire: no later event would reach the feed.
    rng = random.Random(13)
    start = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)
    batch = [
        ReceivedEvent(
            id=uuid.uuid4(),
            occurred=start,
            event="".join(chr(rng.randrange(0x4E00, 0x9FFF)) for _ in range(1024)),
            resource={"prefect.resource.id": f"r.{i}"},
            received=start,
        )
        for i in range(300)
    ]
    pages = event_feed.pages(batch)
    assert sorted(entry[1] for page in pages for entry in json.loads(page.body or "")) == sorted(
        str(e.id) for e in batch
    )
    for page in pages:
        stored_bytes = len(page.PK) + len(page.SK) + len(TableItem.body.serialize(page.body or "")) + 100
        assert stored_bytes < 400 * 1024
