"""Event groups: the task-run state events of one POST /events, stored as a few compressed items.

The SDK (and any batching client) posts its task runs' state events in batches; as one item each (`EVENT#<id>`,
~430 bytes compressed, 1 WRU) a task run's three state events cost 3 of its ~6 WRU. Their JSON repeats itself
from event to event, so a group of them compresses to a small fraction of a write unit per event. Only events
that need nothing but a read by id and the stream are grouped (events.py decides: recordable task-run state
events, which carry no index keys, with a UUIDv7 id); everything else stays an item.

- key ........ PK=EVENT_GROUP#<yyyy-mm-ddTHH:MM of the id's time>#<crc32(id) % SHARDS (8)>,
               SK=<the group's lowest event id>#<digest of its ids>   (uuid7_keys: the ids' time orders them)
- body ....... JSON list of the ReceivedEvents (compressed like every body); entity `event_group`
- TTL ........ the latest expiry of its events; a reader also drops each event past its own expiry
               (received + the events retention), as an expired item of its own would be
- stream ..... stream_feed="task_run" (the recorder's filter takes it); stream_records.decode yields the
               events of an INSERTed group, so the recorder, the time feed, the automation triggers and the
               subscriptions fan-out see them as they see event items
- split ...... per partition, ids in order, a new group past SPAN_MS of id time or MAX_GROUP_JSON_BYTES
- read by id . ONE Query of the id's partition for the groups whose lowest id lies within SPAN_MS before it
               (ids of one partition are looked up together: one Query from the lowest's span to the highest)

Writes: one BatchWriteItem for the batch's groups, which (the local emulator serves a request at a time, AWS
writes them at once) reach the stream together. Put one by one under attribute_not_exists(PK), the recorder's
stream reader often took some groups of a POST in one batch and the rest in the next: a task run's three
events lie in random shards, so most runs of that POST were written twice (first state, then newest, plus a
history item): the bench measured +0.8 WRU per SDK task run that way. Like an event item, a group is keyed by
its content's ids: a client's retry of the same batch makes the same groups and rewrites them (a MODIFY, which no
stream consumer takes; a failed condition would have cost about as much), so nothing is recorded twice. A batch
split differently (the same events posted with others) can store an event in two groups: readers keep each id
once, the recorder records by state id (idempotent), the time feed's reader keeps each id once, and prefect's
event subscribers drop an id they have seen.
SPAN_MS is part of the stored format: readers assume no group spans more.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator
from uuid import UUID

from pydantic import TypeAdapter

from shared.schemas.events import ReceivedEvent
from shared.storage import store, uuid7_keys
from shared.storage.event_feed import expires_at
from shared.storage.table import TableItem

ENTITY = "event_group"
PARTITION = "EVENT_GROUP"
# Write shards of a minute's groups: at 10,000 SDK task runs/s (30,000 state events/s, ~130 bytes each compressed)
# a minute's groups take ~4,000 WCU/s: ~1,000 per key of 4, at DynamoDB's limit per key; ~500 of 8. More shards
# make more, smaller groups per batch, each rounded up to a whole write unit: the bench's 200-task SDK flow
# (POSTs of ~200 events) writes 0.41 WRU of groups per task run with 8, 0.39 with 4.
SHARDS = 8
# The events of one POST were made within a few seconds (the SDK posts every ~2 s), so the span rarely splits.
SPAN_MS = 2_000
# JSON bytes per group (~1,300 per state event): ~50 events, ~7 KB compressed, far under DynamoDB's 400 KB item
# limit, and a read by id reads at most a few groups.
MAX_GROUP_JSON_BYTES = 64 * 1024

_EVENTS = TypeAdapter(list[ReceivedEvent])


def partition(event_id: UUID) -> str | None:
    """The group partition of an event id; None when it cannot be grouped (not a UUIDv7)."""
    return uuid7_keys.minute_partition(PARTITION, event_id, SHARDS)


def _member_bytes(member: tuple[UUID, str]) -> int:
    return len(member[1].encode()) + 1  # and its comma


def _group(pk: str, members: list[tuple[UUID, str]], expiry: dict[UUID, int], stream_feed: str) -> TableItem:
    ids = [str(event_id) for event_id, _ in members]
    digest = hashlib.blake2b("|".join(ids).encode(), digest_size=8).hexdigest()
    return TableItem(
        pk,
        f"{ids[0]}#{digest}",
        entity=ENTITY,
        body=f"[{','.join(text for _, text in members)}]",
        expires_at=max(expiry[event_id] for event_id, _ in members),
        stream_feed=stream_feed,
    )


def groups(events: Iterable[ReceivedEvent], stream_feed: str) -> list[TableItem]:
    """The group items of a batch's groupable events (each has a partition), tagged with `stream_feed`: the same
    events always make the same groups."""
    by_partition: dict[str, dict[UUID, str]] = {}
    expiry: dict[UUID, int] = {}
    for event in events:
        pk = partition(event.id)
        if pk is None:
            raise ValueError(f"event id {event.id} is not a UUIDv7: it has no group")
        by_partition.setdefault(pk, {})[event.id] = event.model_dump_json()
        expiry[event.id] = expires_at(event)
    # (id, text) members: a UUID orders as its text, a UUIDv7 by its time.
    members = {pk: texts.items() for pk, texts in by_partition.items()}
    return [
        _group(pk, chunk, expiry, stream_feed)
        for pk, chunk in uuid7_keys.chunks(members, lambda m: m[0], _member_bytes, MAX_GROUP_JSON_BYTES, SPAN_MS)
    ]


def events_in(body: str) -> list[ReceivedEvent]:
    """The events of a group's body (the table's or its stream's)."""
    return _EVENTS.validate_json(body)


def _groups_holding(pk: str, wanted: frozenset[UUID]) -> list[TableItem]:
    """The groups of partition `pk` that can hold these ids of it: one Query."""
    lowest, highest = uuid7_keys.sk_range(min(wanted), max(wanted), SPAN_MS)
    return list(store.query(pk, sk_gte=lowest, sk_lte=highest))


def find(event_ids: Iterable[UUID]) -> Iterator[ReceivedEvent]:
    """The unexpired stored events of these ids that are in groups, each once, in no particular order: per group
    partition one Query of the groups that can hold its ids, sent at once (ids that cannot be grouped are left out)."""
    by_partition: dict[str, set[UUID]] = {}
    for event_id in event_ids:
        pk = partition(event_id)
        if pk is not None:
            by_partition.setdefault(pk, set()).add(event_id)
    wanted = {pk: frozenset(ids) for pk, ids in sorted(by_partition.items())}
    found = store.map_concurrently(lambda pk: _groups_holding(pk, wanted[pk]), wanted)
    now = time.time()
    seen: set[UUID] = set()
    for pk, items in found.items():
        for item in items:
            if not item.body or (item.expires_at is not None and item.expires_at < now):
                continue
            for event in events_in(item.body):
                if event.id in wanted[pk] and event.id not in seen and expires_at(event) >= now:
                    seen.add(event.id)
                    yield event
