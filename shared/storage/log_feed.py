"""The all-logs time feed: per `POST /logs/`, compact pages naming the request's log groups, instead of an
index copy of every group.

`POST /logs/filter` without a flow run or task run filter reads all logs by time. Indexing each group item on
GSI2 for that wrote a second copy of the group (1 of the 3 WRU of a task run's one-line group, 1 of a flow
run's 2). A request already holds all its groups, so it writes, in the same BatchWriteItem as the groups, per
minute of the groups' first lines (at most MAX_ENTRIES groups each), one page:

- key ........ PK=LOG_FEED#<shard 0..FEED_SHARDS-1>, SK=<yyyy-mm-ddTHH:MM>#<digest of the page's entries>
- body ....... JSON list of [group SK, group PK] (group SK = `<first line's sortable time>#<id>#<digest>`),
               compressed like every body: a one-group page is ~150 bytes, 1 WRU per request, not per group
- TTL ........ the latest expiry of its groups (a reader drops entries whose group is gone)

The digest (of the sorted entries) names the page and picks its shard: the same groups make the same page,
so a write retried with them (BatchWriteItem's unprocessed items) rewrites it instead of adding one. A reader
Queries the FEED_SHARDS partitions for the SK range of the window's minutes in the requested direction, takes
one minute's pages at a time (all shards merged), sorts their entries by group SK (a group's first line falls
in its page's minute, so minutes come out in order), and BatchGets the groups in that order, a few at a
time, so a read that stops early fetches few groups.

Items written before the feed have GSI2 keys (`LOGS#<shard>`): LEGACY_MARKER, written once by the first
all-logs read, holds until when such items can still be live (its time + the log retention); until then a
reader also Queries GSI2 and merges the two ordered streams, after it never again.
"""

from __future__ import annotations

import datetime
import hashlib
import heapq
import itertools
import json
from collections.abc import Iterable, Iterator, Sequence

from shared.schemas.base import now_utc
from shared.storage import store
from shared.storage.keys import MINUTE_CHARS, all_shards, epoch_seconds, key
from shared.storage.table import TableItem

ENTITY = "log_feed"
FEED = "LOG_FEED"
# A request's pages go to a shard by their digest. At 10,000 task runs/s + 1,000 flow runs/s, each posting its
# logs (a one-page request: 1 WRU), 16 shards take ~690 WCU/s each.
FEED_SHARDS = 16
# An entry is at most ~140 characters of JSON (a sortable time, two UUIDs, a 16-hex digest, a key prefix: no
# user text), so 200 make at most a ~28 KB page (a few KB compressed), far below DynamoDB's 400 KB.
MAX_ENTRIES = 200
# BatchGetItem takes 100 keys a call; a read that stops early (limit 1-50) needs a handful of groups.
FIRST_FETCH = 16
MAX_FETCH = 100

LEGACY_MARKER = (FEED, "LEGACY_UNTIL")
LEGACY_INDEX = "GSI2"
LEGACY_ALL_LOGS = "LOGS"
LEGACY_SHARDS = 16  # the shard count GSI2 keys were written with
_cached_legacy_until: int | None = None  # the marker's value: written once, never changed


# --- writes ----------------------------------------------------------------------


def _page(minute: str, entries: list[tuple[str, str]], expires_at: int) -> TableItem:
    digest = hashlib.sha256("\n".join(f"{sk} {pk}" for sk, pk in entries).encode()).hexdigest()[:20]
    return TableItem(
        key(FEED, str(int(digest[:8], 16) % FEED_SHARDS)),
        f"{minute}#{digest}",
        entity=ENTITY,
        body=json.dumps(entries, separators=(",", ":")),
        expires_at=expires_at,
    )


def pages(groups: Sequence[TableItem]) -> list[TableItem]:
    """The feed pages of a request's group items: per minute of their first lines, MAX_ENTRIES a page."""
    by_minute: dict[str, set[tuple[str, str]]] = {}
    for group in groups:
        by_minute.setdefault(group.SK[:MINUTE_CHARS], set()).add((group.SK, group.PK))
    expires_at = max(int(group.expires_at or 0) for group in groups) if groups else 0
    found = []
    for minute, unique in sorted(by_minute.items()):
        ordered = sorted(unique)
        for start in range(0, len(ordered), MAX_ENTRIES):
            found.append(_page(minute, ordered[start : start + MAX_ENTRIES], expires_at))
    return found


def _legacy_until(retention: datetime.timedelta) -> int:
    """Epoch seconds until which items indexed on GSI2 (written before the feed) can be live.

    The first all-logs read writes LEGACY_MARKER (now + the log retention: every such item was ingested
    before this code ran, so it expires by then); later reads read it, once per process. Reads rather than
    POSTs write it, so ingest stays one BatchWriteItem."""
    global _cached_legacy_until
    if _cached_legacy_until is None:
        marker = store.get(*LEGACY_MARKER)
        if marker is None:
            until = epoch_seconds(now_utc() + retention)
            marker = TableItem(*LEGACY_MARKER, entity=ENTITY, body=json.dumps({"legacy_until": until}))
            if not store.put_if_absent(marker):  # another reader wrote it first: its value holds
                marker = store.get(*LEGACY_MARKER)
        if marker is None or not marker.body:
            raise ValueError(f"{LEGACY_MARKER} has no body")
        _cached_legacy_until = int(json.loads(marker.body)["legacy_until"])
    return _cached_legacy_until


# --- reads -----------------------------------------------------------------------


def _entries_by_minute(gte: str | None, lte: str | None, descending: bool) -> Iterator[list[tuple[str, str]]]:
    """Each minute's entries (group SK, group PK) with `gte <= SK <= lte`, minutes and entries in read order."""
    feed_pages = store.query_shards(
        all_shards(FEED, FEED_SHARDS),
        index=None,
        sk_gte=gte[:MINUTE_CHARS] if gte else None,
        sk_lte=lte[:MINUTE_CHARS] + "~" if lte else None,
        descending=descending,
    )
    now = epoch_seconds(now_utc())
    for _minute, same in itertools.groupby(feed_pages, key=lambda page: page.SK[:MINUTE_CHARS]):
        entries: set[tuple[str, str]] = set()
        for page in same:
            if page.body and (page.expires_at is None or page.expires_at > now):
                entries.update(
                    (sk, pk)
                    for sk, pk in json.loads(page.body)
                    if (gte is None or sk >= gte) and (lte is None or sk <= lte)
                )
        if entries:
            yield sorted(entries, reverse=descending)


def _fetched(entries: Iterable[tuple[str, str]]) -> Iterator[TableItem]:
    """The groups of entries, in the entries' order, fetched FIRST_FETCH then up to MAX_FETCH at a time
    (eventually consistent, as the GSI2 copies were; a group deleted or expired is left out)."""
    size = FIRST_FETCH
    ordered = iter(entries)
    while batch := list(itertools.islice(ordered, size)):
        found = {(item.PK, item.SK): item for item in store.batch_get(((pk, sk) for sk, pk in batch), consistent=False)}
        yield from (found[(pk, sk)] for sk, pk in batch if (pk, sk) in found)
        size = min(size * 2, MAX_FETCH)


def groups(gte: str | None, lte: str | None, descending: bool, retention: datetime.timedelta) -> Iterator[TableItem]:
    """All log items with `gte <= SK <= lte`, in SK order (`descending` or not): the feed's groups and, while
    they can be live (`retention`: the logs'), the items indexed on GSI2 before the feed."""
    feed = _fetched(itertools.chain.from_iterable(_entries_by_minute(gte, lte, descending)))
    if _legacy_until(retention) <= epoch_seconds(now_utc()):
        return feed
    legacy = store.query_shards(
        all_shards(LEGACY_ALL_LOGS, LEGACY_SHARDS), index=LEGACY_INDEX, sk_gte=gte, sk_lte=lte, descending=descending
    )
    # GSI2SK = SK: both streams are in SK order.
    return heapq.merge(feed, legacy, key=_sk, reverse=descending)


def _sk(item: TableItem) -> str:
    return str(item.SK)
