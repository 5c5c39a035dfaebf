"""Where a recorded task-run state is, found from its id alone: per-minute pages of state ids.

`GET /task_run_states/{id}` needs, for a state the stream-fed recorder stored inside a history group
(`task_run_states.py`), the run and the group's SK. A pointer item per state (PK=TASK_RUN_STATE#<id>) said so
for 1 WRU each: 3 of a task run's ~15 WRU. But prefect 3.9.1 (and the SDK) make state ids UUIDv7, whose
first 48 bits are the creation time in ms: the id alone tells the minute it was made in. So per recorder
batch, the states of one minute and shard share one page item:

- key ........ PK=TASK_RUN_STATE_IDS#<yyyy-mm-ddTHH:MM of the id's time>#<shard = crc32(id) % SHARDS>,
               SK=<the page's lowest state id>#<digest of the page's entries>
- body ....... JSON list of [task run id, group SK, [its state ids]] rows, one per (run, group), compressed
               like every body. Pages written before (LEGACY_SHARDS, and their rows) listed
               [state id, task run id, group SK] per state: readers take both.
- TTL ........ the latest expiry of its states' groups (`retention.history_expiry`)
- split ...... a page spans at most PAGE_SPAN_MS of id time and MAX_PAGE_JSON_BYTES of entries

The entries follow from the batch's groups (their keys from their states), so a replayed batch rewrites the
same pages; a replay split differently makes other groups and so other pages beside the first (a state is
then in two pages naming two groups, both stored). A read derives minute and shard from the id and Queries
that one partition for the pages whose lowest id lies within PAGE_SPAN_MS before the id (a UUIDv7's text
sorts by its time): a bounded read however busy the minute was.

Ids that are not UUIDv7 (older clients, ids sent over REST) have no page: they keep their pointer item
(`task_run_states.py`), as do the states stored before pages existed. A deleted run's entries stay in their
pages until their TTL: a read then finds neither the group nor the run's history (404, as the reference).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import NamedTuple
from uuid import UUID

from shared.storage import store, uuid7_keys
from shared.storage.table import TableItem

ENTITY = "task_run_state_ids"
PARTITION = "TASK_RUN_STATE_IDS"
# Write shards of a minute's pages. Every recorder batch writes one page per shard its states fall in, so
# more shards cost more page writes per state: with batches of ~45 events (the bench) 32 shards cost ~0.55 WRU
# per task run, 8 about a third of that. The hot-key rule still holds at 8: at 10,000 task runs/s (30,000
# states/s) the table's stream has tens of shards and the recorder (ParallelizationFactor 1) takes each
# shard's records ~4 times a second, so batches hold ~100 states and a batch writes at most 8 pages of ~13
# entries (~1 WRU each): ~300 WCU/s per key. Pages of one state each (30,000 WCU/s) would need 30,000
# batches a second, which that polling cannot make.
# 4, with a row per (run, group) rather than per state (a run's 3 states share its id and location: about half
# the compressed bytes), so a batch's pages hold twice the states in as few write units: half the pages of 8
# shards (~0.27 -> ~0.14 WRU per task run in the bench), and ~700 WCU/s per key at the rate above. Part of the
# stored keys: reads also Query the partition an id had under LEGACY_SHARDS, for pages written before.
SHARDS = 4
LEGACY_SHARDS = 8
# A page holds ids made within this span of each other, so a read Queries only the pages that start this
# long before its id: at 30,000 states/s, ~2,000 entries (~200 KB) of one shard, not the minute's ~60,000.
# The ids of one recorder batch were made within a second or two of each other (state changes are recorded
# as they are sent), so the span rarely splits a page.
PAGE_SPAN_MS = 2_000
# JSON bytes of entries per page (~150 each): far below DynamoDB's 400 KB item limit.
MAX_PAGE_JSON_BYTES = 32 * 1024


class Entry(NamedTuple):
    """A paged state: where its group is."""

    state_id: str
    task_run_id: str
    group_sk: str


def partition(state_id: UUID, shards: int = SHARDS) -> str | None:
    """The page partition of a state id, or None when it has none (not a UUIDv7, or a time past year 9999);
    `shards`: under that shard count (LEGACY_SHARDS: where pages written before put it)."""
    return uuid7_keys.minute_partition(PARTITION, state_id, shards)


def _state_id(entry: Entry) -> UUID:
    return UUID(entry.state_id)


def _entry_bytes(entry: Entry) -> int:
    return len(json.dumps(entry, separators=(",", ":")))


def _rows(entries: list[Entry]) -> list[list[object]]:
    """A page's body: one [task run id, group SK, [state ids]] row per (run, group), in entry order."""
    rows: dict[tuple[str, str], list[str]] = {}
    for entry in entries:
        rows.setdefault((entry.task_run_id, entry.group_sk), []).append(entry.state_id)
    return [[task_run_id, group_sk, state_ids] for (task_run_id, group_sk), state_ids in rows.items()]


def _page(pk: str, entries: list[Entry], expires_at: float | None) -> TableItem:
    digest = hashlib.blake2b("\n".join(" ".join(e) for e in entries).encode(), digest_size=8).hexdigest()
    return TableItem(
        pk,
        f"{entries[0].state_id}#{digest}",
        entity=ENTITY,
        body=json.dumps(_rows(entries), separators=(",", ":")),
        expires_at=expires_at,
    )


def _entries(body: str) -> Iterator[Entry]:
    """A page's entries: from its rows, or (pages written before) its per-state triples."""
    for row in json.loads(body):
        if isinstance(row[2], list):
            task_run_id, group_sk, state_ids = row
            yield from (Entry(state_id, task_run_id, group_sk) for state_id in state_ids)
        else:
            yield Entry(*row)


def pages(located: Iterable[tuple[Entry, float | None]]) -> list[TableItem]:
    """The pages of a recorder batch's paged states ((entry, expiry of its group), partition(state id) set):
    per partition, entries sorted by state id, a new page past PAGE_SPAN_MS of id time or MAX_PAGE_JSON_BYTES.
    A page expires with its longest-kept group (None: kept forever)."""
    by_partition: dict[str, dict[Entry, float | None]] = {}
    for entry, expires_at in located:
        pk = partition(UUID(entry.state_id))
        if pk is None:
            raise ValueError(f"state id {entry.state_id} is not a UUIDv7: it has no page")
        by_partition.setdefault(pk, {})[entry] = expires_at
    found = []
    for pk, chunk in uuid7_keys.chunks(by_partition, _state_id, _entry_bytes, MAX_PAGE_JSON_BYTES, PAGE_SPAN_MS):
        chunk_expiries = [by_partition[pk][entry] for entry in chunk]
        expires_at = None if None in chunk_expiries else max(e for e in chunk_expiries if e is not None)
        found.append(_page(pk, chunk, expires_at))
    return found


def locations(state_id: UUID) -> list[tuple[UUID, str]]:
    """(task run id, group SK) of each group the pages say holds the state; [] without a page partition.

    One consistent Query: the pages of the id's partition whose lowest id is at most PAGE_SPAN_MS older; a
    second of its partition under LEGACY_SHARDS (when that differs) if the first has no entry of it."""
    pk = partition(state_id)
    if pk is None:
        return []
    found = _located_in(pk, state_id)
    legacy = partition(state_id, LEGACY_SHARDS)
    if not found and legacy is not None and legacy != pk:
        found = _located_in(legacy, state_id)
    return found


def _located_in(pk: str, state_id: UUID) -> list[tuple[UUID, str]]:
    lowest, highest = uuid7_keys.sk_range(state_id, state_id, PAGE_SPAN_MS)
    wanted = str(state_id)
    return [
        (UUID(entry.task_run_id), entry.group_sk)
        for page in store.query(pk, sk_gte=lowest, sk_lte=highest)
        if page.body
        for entry in _entries(page.body)
        if entry.state_id == wanted
    ]
