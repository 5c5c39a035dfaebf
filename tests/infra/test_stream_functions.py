"""The template's stream-fed functions as the local stack runs them: the task-run recorder's filter matches
exactly the event items storage tags for it, every event consumer takes the events of a new event group, only
idempotent consumers start from TRIM_HORIZON, and the event feed's pages and the event groups are the same
whenever a batch is retried."""

from __future__ import annotations

import datetime
import json
import random
import uuid
from typing import Any

from infra.local.streams import StreamFunction, passes, stream_functions
from shared.schemas.events import ReceivedEvent
from shared.storage import event_feed, event_groups, log_groups, stream_records, uuid7_keys
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


def _uuid7(millis: int) -> uuid.UUID:
    """A UUIDv7 made at `millis` (random bits from uuid4), as prefect's client and the SDK make event ids."""
    random_bits = uuid.uuid4().int & ((1 << 74) - 1)
    return uuid.UUID(
        int=millis << 80 | 0x7 << 76 | (random_bits >> 62) << 64 | 0b10 << 62 | random_bits & ((1 << 62) - 1)
    )


def _state_events(start: datetime.datetime, count: int, step_ms: int, name_bytes: int = 10) -> list[ReceivedEvent]:
    base = int(start.timestamp() * 1000)
    return [
        ReceivedEvent(
            id=_uuid7(base + i * step_ms),
            occurred=start + datetime.timedelta(milliseconds=i * step_ms),
            event="prefect.task-run.Running",
            resource={
                "prefect.resource.id": f"prefect.task-run.{uuid.uuid4()}",
                "prefect.resource.name": "x" * name_bytes,
            },
            received=start,
        )
        for i in range(count)
    ]


def test_every_event_consumer_takes_the_events_of_a_new_event_group_once() -> None:
    group = {"entity": {"S": event_groups.ENTITY}, "stream_feed": {"S": event_store.TASK_RUN_FEED}}
    for logical_id in (
        "TaskRunRecorderFunction",
        "EventFeedFunction",
        "AutomationTriggersFunction",
        "SubscriptionsFanoutFunction",
    ):
        assert passes(_function(logical_id), _record("INSERT", group)), logical_id
        assert not passes(_function(logical_id), _record("MODIFY", group)), logical_id
    assert not passes(_function("TaskRunRecorderFunction"), _record("INSERT", {"entity": {"S": event_groups.ENTITY}}))

    events = _state_events(datetime.datetime(2026, 1, 1, 12, 0, 10, tzinfo=datetime.UTC), 6, 100)
    items = event_groups.groups(events, event_store.TASK_RUN_FEED)

    def image(item: TableItem) -> dict[str, Any]:
        return {
            "entity": {"S": item.entity},
            "stream_feed": {"S": item.stream_feed},
            "body": {"B": TableItem.body.serialize(item.body or "")},
        }

    # A batch split differently stores an event in two groups: the stream delivers it once per batch of records.
    twice = event_groups.groups(events[:2], event_store.TASK_RUN_FEED)
    records = [_record("INSERT", image(item)) for item in [*items, *twice]] + [_record("MODIFY", image(items[0]))]
    decoded = stream_records.decode(records).events
    assert sorted(e.id for e in decoded) == sorted(e.id for e in events)
    assert {e.id: e.model_dump_json() for e in decoded} == {e.id: e.model_dump_json() for e in events}


def test_an_event_group_spans_at_most_its_span_of_id_time_and_bytes_and_a_retry_makes_the_same_groups() -> None:
    """A read by id Queries only the groups that start SPAN_MS before the id, and a group must fit an item."""
    start = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)
    spread = _state_events(start, 40, 250)  # 10 s of ids in one minute
    large = _state_events(start + datetime.timedelta(seconds=30), 120, 1, name_bytes=2_000)  # ~290 KB of JSON
    items = event_groups.groups([*spread, *large], event_store.TASK_RUN_FEED)

    def keyed(groups: list[TableItem]) -> list[tuple[str, str, str | None]]:
        return [(group.PK, group.SK, group.body) for group in groups]

    # Retried in another order, with an event twice: the same groups (the same conditional puts, nothing new).
    assert keyed(event_groups.groups([*large[::-1], *spread[::-1], spread[0]], event_store.TASK_RUN_FEED)) == keyed(
        items
    )
    held: list[uuid.UUID] = []
    for item in items:
        members = event_groups.events_in(item.body or "")
        ids = [e.id for e in members]
        assert {event_groups.partition(i) for i in ids} == {item.PK}
        assert item.SK.startswith(f"{min(ids)}#") and ids == sorted(ids)
        assert uuid7_keys.millis(ids[-1]) - uuid7_keys.millis(ids[0]) <= event_groups.SPAN_MS
        assert len((item.body or "").encode()) <= event_groups.MAX_GROUP_JSON_BYTES + 2
        assert item.expires_at == max(event_feed.expires_at(e) for e in members)
        assert item.stream_feed == event_store.TASK_RUN_FEED
        held.extend(ids)
    assert sorted(held) == sorted(e.id for e in [*spread, *large])  # each event in exactly one group
    assert len({item.PK for item in items}) <= event_groups.SHARDS  # the minute's shards
    assert len(items) > event_groups.SHARDS  # the span and the size bound split some
