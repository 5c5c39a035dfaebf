"""Where a keyed task run is, found from its id alone: per-minute pages of task-run ids.

A task run the stream-fed recorder creates in a flow run is stored at its natural key, in its flow run's
partition (a "keyed" run, task_run_keys.py): the one item is both the run and its natural-key guard, where a
run keyed by its id needs two (1 WRU each). Nothing is then keyed by the run's id, so a read by id needs the
run's location. prefect 3.9.1 and the SDK make task-run ids UUIDv7 (first 48 bits: creation time in ms), so
the id alone names a minute, and per recorder batch the new keyed runs of one minute and shard share a page:

- key ........ PK=TASK_RUN_IDS#<yyyy-mm-ddTHH:MM of the id's time>#<shard = crc32(id) % SHARDS>,
               SK=<the page's lowest run id>#<digest of its rows>
- body ....... JSON list of [task run id, flow run id, natural-key digest] rows (the run's location:
               PK=TASK_RUN_KEYS#<flow run id>, SK=<digest>), compressed like every body
- TTL ........ none: runs are keyed only while runs are kept forever (task_run_keys.holds_history)
- split ...... a page spans at most PAGE_SPAN_MS of id time and MAX_PAGE_JSON_BYTES of rows

The recorder writes a batch's pages before its keyed runs (BatchWriteItem), so a stored keyed run always has
its row. The rows follow from the batch's new runs, so a replayed batch rewrites the same pages; a replay split
differently writes other pages beside them (a run then has two rows naming the same place). A row is a
hint, never trusted alone: a reader takes the item it names only if that item is a run with the id.
A deleted run's row stays: its location then holds nothing, or another run (whose id differs).
A read Queries the id's partition for the pages whose lowest id lies within PAGE_SPAN_MS before the id (the
text of a UUIDv7 sorts by its time): one bounded Query per id, or per partition for a set of ids.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple
from uuid import UUID

from shared.storage import store, uuid7_keys
from shared.storage.table import TableItem
from shared.storage.task_run_state_ids import PAGE_SPAN_MS

ENTITY = "task_run_ids"
PARTITION = "TASK_RUN_IDS"
# Write shards of a minute's pages: every recorder batch writes a page per shard its new runs fall in. Rows are
# ~60 compressed bytes (random ids do not compress), so a batch of 100 new runs writes ~6 KB over 4 pages,
# ~0.07 WRU a run; at 10,000 new runs/s, ~175 WCU/s per key.
SHARDS = 4
MAX_PAGE_JSON_BYTES = 32 * 1024


class Row(NamedTuple):
    """A keyed run and where it is: PK=TASK_RUN_KEYS#<flow_run_id>, SK=<digest>."""

    task_run_id: str
    flow_run_id: str
    digest: str


def partition(task_run_id: UUID) -> str | None:
    """The page partition of a run id, or None when it has none (not a UUIDv7): such a run is not keyed."""
    return uuid7_keys.minute_partition(PARTITION, task_run_id, SHARDS)


def _row_bytes(row: Row) -> int:
    return len(json.dumps(row, separators=(",", ":")))


def _page(pk: str, rows: list[Row]) -> TableItem:
    digest = hashlib.blake2b("\n".join(" ".join(r) for r in rows).encode(), digest_size=8).hexdigest()
    return TableItem(pk, f"{rows[0].task_run_id}#{digest}", entity=ENTITY, body=json.dumps(rows, separators=(",", ":")))


def pages(rows: Iterable[Row]) -> list[TableItem]:
    """The pages of a recorder batch's new keyed runs: per partition, rows sorted by run id, a new page past
    PAGE_SPAN_MS of id time or MAX_PAGE_JSON_BYTES."""
    by_partition: dict[str, set[Row]] = defaultdict(set)
    for row in rows:
        pk = partition(UUID(row.task_run_id))
        if pk is None:
            raise ValueError(f"task run id {row.task_run_id} is not a UUIDv7: it has no page")
        by_partition[pk].add(row)
    chunks = uuid7_keys.chunks(
        by_partition, lambda r: UUID(r.task_run_id), _row_bytes, MAX_PAGE_JSON_BYTES, PAGE_SPAN_MS
    )
    return [_page(pk, chunk) for pk, chunk in chunks]


def _rows_in(pk: str, ids: list[UUID]) -> list[Row]:
    """The rows of `ids` (all of partition `pk`) in its pages: one consistent Query from PAGE_SPAN_MS before the
    lowest id to the highest."""
    wanted = {str(i) for i in ids}
    lowest, highest = uuid7_keys.sk_range(min(ids), max(ids), PAGE_SPAN_MS)
    return [
        row
        for page in store.query(pk, sk_gte=lowest, sk_lte=highest)
        if page.body
        for row in (Row(*fields) for fields in json.loads(page.body))
        if row.task_run_id in wanted
    ]


def locations(task_run_ids: Iterable[UUID]) -> dict[UUID, list[tuple[UUID, str]]]:
    """(flow run id, digest) of the places the pages say each id is keyed at (ids without any are left out):
    one Query per partition, concurrently."""
    by_partition: dict[str, list[UUID]] = defaultdict(list)
    for task_run_id in dict.fromkeys(task_run_ids):
        pk = partition(task_run_id)
        if pk is not None:
            by_partition[pk].append(task_run_id)
    found: dict[UUID, list[tuple[UUID, str]]] = defaultdict(list)
    rows = store.map_concurrently(lambda pk: _rows_in(pk, by_partition[pk]), list(by_partition))
    for partition_rows in rows.values():
        for row in partition_rows:
            place = (UUID(row.flow_run_id), row.digest)
            if place not in found[UUID(row.task_run_id)]:
                found[UUID(row.task_run_id)].append(place)
    return dict(found)
