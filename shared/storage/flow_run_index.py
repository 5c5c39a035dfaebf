"""A flow run's index anchor: the item that carries the run's state-independent index keys.

A run item is rewritten on every state change (three times for a plain run). Every GSI an item is
in gets a copy of each rewrite (the table's GSIs project ALL), so index keys that never change with
the state — all runs by id (GSI1), by flow (GSI2), by parent task run (GSI3), by deployment (GSI4),
by expected start (GSI7) — are carried by a small write-once item in the run's own partition,
`PK=FLOW_RUN#<id>`, `SK=#INDEX`, instead. The run item keeps the keys that follow its state (GSI5,
GSI6, GSI8). The anchor is written with the run's create and rewritten only when one of its keys or
its expiry changes (see flow_runs._anchor_change).

Readers of those indexes get anchors and fetch the runs by key (`hydrate`). A run item found there is
a run stored before anchors existed (its keys still on it; its next write moves them to an anchor):
it is used as it is. An anchor whose run is gone (deleted, expired, or its create died before the
run item was written) is skipped.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from pynamodb.expressions.condition import Condition

from shared.storage import store
from shared.storage.table import TableItem

ENTITY = "flow_run_index"
INDEX_SK = "#INDEX"
# The anchor's index keys: everything it must match the run on. `expires_at` too, so an anchor
# expires (TTL) with its finished run.
ANCHORED_ATTRIBUTES = (
    *(f"GSI{n}{part}" for n in (1, 2, 3, 4, 7) for part in ("PK", "SK")),
    "expires_at",
)
# BatchGetItem reads at most 100 keys per call.
MAX_PAGE = 100
# What a listing reads of each item: its keys and body. A run is decoded from its body alone and a listing never
# writes it back (a writer rereads it consistently), so the index keys, version and TTL of ~15 attributes are
# left unread: DynamoDB charges the same units, but botocore's parser walks every attribute of every item
# (most of an API handler's CPU for a page of 100 runs).
LISTED_ATTRIBUTES = ["PK", "SK", "entity", "body"]
T = TypeVar("T")


def is_anchor(item: TableItem) -> bool:
    return item.SK == INDEX_SK


def anchors_only() -> Condition:
    """A Query filter keeping an index's anchors (a legacy run item listed there is left out)."""
    anchor: Condition = TableItem.SK == INDEX_SK
    return anchor


def differs(stored: TableItem | None, wanted: TableItem) -> bool:
    """Whether `wanted` must be written over the stored anchor (None: there is none)."""
    return stored is None or any(getattr(stored, a) != getattr(wanted, a) for a in ANCHORED_ATTRIBUTES)


def hydrate(entries: Iterable[TableItem], decode: Callable[[TableItem], T], first_page: int = MAX_PAGE) -> Iterator[T]:
    """The runs of an index stream, in its order: anchors are replaced by their run items, fetched
    with BatchGetItem a page at a time. The first page is `first_page` entries (a reader that stops
    after offset+limit runs asks for that many), each next one twice as many (the reader's filter
    rejected some), up to MAX_PAGE. Fetches are eventually consistent, as the index they come from."""
    stream = iter(entries)
    seen: set[str] = set()  # a legacy run item and its new anchor can both be listed for a while
    page = max(1, min(first_page, MAX_PAGE))
    while chunk := list(itertools.islice(stream, page)):
        wanted = [(entry.PK, store.META) for entry in chunk if is_anchor(entry) and entry.PK not in seen]
        found = (
            {item.PK: item for item in store.batch_get(wanted, consistent=False, attributes=LISTED_ATTRIBUTES)}
            if wanted
            else {}
        )
        for entry in chunk:
            item = found.get(entry.PK) if is_anchor(entry) else entry
            if item is None or entry.PK in seen:
                continue
            seen.add(entry.PK)
            yield from store.readable([item], decode)
        page = min(page * 2, MAX_PAGE)
