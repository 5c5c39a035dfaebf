"""The events' time feed: compact pages of (occurred, id, name) entries, written in batches by a stream consumer.

An event item (`events.py`, PK=EVENT#<id>) holds the body; the time feed only has to pick the events of a
time window. Indexing each event item on a GSI for that cost a second full write per event (2 of a task run's
~19 WRU, an ALL-projected copy of every body). Instead the stream-fed EventFeedFunction
(functions/event_feed) takes the new event items in batches and writes, per UTC day and minute of
`occurred`, one page:

- key ........ PK=EVENT_FEED#<yyyy-mm-dd>#<shard>, SK=<yyyy-mm-ddTHH:MM of occurred>#<digest of the page's ids>
- body ....... JSON list of [sortable occurred, id, name, expires_at], compressed like every body (CompactBody)
- TTL ........ the latest expiry of its events (an expired entry's event is dropped by the reader anyway)

The digest (of the sorted ids) names the page and picks its shard, so a retried batch rewrites the same pages
(no duplicate entries), and a batch's events of one minute share one page (one write of a few hundred bytes
instead of one write per event). A reader Queries each shard of each day with events for the SK range of the
window's minutes, keeps the entries in the window, then BatchGets the event items.

Lag: an event enters the feed when its batch is processed (the function's batching window, ~1-2 s); reads by
id, by resource and by name (GSI3) see it at once.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from uuid import UUID

from shared.schemas.events import ReceivedEvent
from shared.storage import store
from shared.storage.keys import MINUTE_CHARS, all_shards, key, sortable_time
from shared.storage.retention import events_retention
from shared.storage.table import TableItem

ENTITY = "event_feed"
# Write shards of a day's pages. A page holds a batch's events of one minute (~40 bytes each compressed): at
# 10,000 task runs/s and 1,000 flow runs/s (~34,000 events/s, full batches) the feed takes ~1,500 WCU/s in all,
# ~100 per shard; the bench's hot-key table measures the (much sparser) pages of a quiet stack.
FEED_SHARDS = 16
# JSON bytes per page: a full stream batch (1,000 events of one minute, ~110 bytes of entry each) makes two
# pages of ~20 KB compressed. Bounded in bytes, not entries: names may be 1,024 characters (6 KB of JSON when
# escaped), and a page past DynamoDB's 400 KB item limit would fail its batch on every retry.
MAX_PAGE_JSON_BYTES = 64 * 1024


@dataclass(frozen=True)
class FeedEntry:
    occurred: str  # keys.sortable_time
    id: UUID
    name: str

    @property
    def occurred_at(self) -> datetime.datetime:
        return datetime.datetime.fromisoformat(self.occurred)


def expires_at(event: ReceivedEvent) -> int:
    """Epoch seconds after which the event (and its feed entry) is gone: received + the events retention."""
    return int((event.received + events_retention()).timestamp())


def _day(occurred: str) -> str:
    return occurred[:10]


Entry = tuple[str, str, str, int]  # (sortable occurred, id, name, expires_at)


def _entry(event: ReceivedEvent) -> Entry:
    return sortable_time(event.occurred), str(event.id), event.event, expires_at(event)


def _entry_bytes(event: ReceivedEvent) -> int:
    return len(json.dumps(_entry(event), separators=(",", ":")))


def _page(day: str, minute: str, events: list[ReceivedEvent]) -> TableItem:
    entries = sorted(_entry(e) for e in events)
    digest = hashlib.sha256("\n".join(entry[1] for entry in entries).encode()).hexdigest()[:20]
    shard = int(digest[:8], 16) % FEED_SHARDS
    return TableItem(
        f"{key('EVENT_FEED', day)}#{shard}",
        f"{minute}#{digest}",
        entity=ENTITY,
        body=json.dumps(entries, separators=(",", ":")),
        expires_at=max(expires_at(e) for e in events),
    )


def pages(events: Iterable[ReceivedEvent]) -> list[TableItem]:
    """The pages of a batch: per minute of `occurred`, its events (each id once) in pages of at most
    MAX_PAGE_JSON_BYTES (a single entry is smaller: a name is at most 1,024 characters)."""
    by_minute: dict[str, dict[UUID, ReceivedEvent]] = {}
    for event in events:
        by_minute.setdefault(sortable_time(event.occurred)[:MINUTE_CHARS], {})[event.id] = event
    found: list[TableItem] = []
    for minute, unique in sorted(by_minute.items()):
        ordered = sorted(unique.values(), key=lambda e: str(e.id))
        for chunk in store.chunked(ordered, _entry_bytes, MAX_PAGE_JSON_BYTES):
            found.append(_page(_day(minute), minute, chunk))
    return found


def write(events: Iterable[ReceivedEvent]) -> int:
    """Add a batch of newly stored events to the feed (idempotent: the same batch writes the same pages)."""
    return store.batch_put(pages(events))


def entries(days: Iterable[str], lo: str, hi: str) -> Iterator[FeedEntry]:
    """The feed's entries with `lo <= occurred <= hi` (sortable times) on these UTC days whose event has not
    expired, unordered; an event in two pages (a batch split differently when retried) comes twice."""
    pks = [pk for day in days for pk in all_shards(key("EVENT_FEED", day), FEED_SHARDS)]
    now = time.time()
    for item in store.query_shards(pks, index=None, sk_gte=lo[:MINUTE_CHARS], sk_lte=hi[:MINUTE_CHARS] + "~"):
        if (item.expires_at is not None and item.expires_at < now) or not item.body:
            continue
        for occurred, event_id, name, expires in json.loads(item.body):
            if lo <= occurred <= hi and expires >= now:
                yield FeedEntry(occurred, UUID(event_id), name)
