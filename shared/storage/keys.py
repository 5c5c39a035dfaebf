"""Key-building helpers shared by repositories: sortable timestamps and prefixes."""

from __future__ import annotations

import datetime
import zlib
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel

from shared.storage.table import TableItem

M = TypeVar("M", bound=BaseModel)

# Sorts after every ISO timestamp, so "no time yet" lands last ascending.
NO_TIME = "~"
# The minute prefix of a sortable_time string ("yyyy-mm-ddTHH:MM"): the bucket of the per-minute pages (event
# feed, log feed, state-id pages).
MINUTE_CHARS = len("yyyy-mm-ddTHH:MM")


def sortable_time(value: datetime.datetime | None) -> str:
    """Fixed-width UTC ISO string: lexical order == chronological order."""
    if value is None:
        return NO_TIME
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    value = value.astimezone(datetime.UTC)
    # Not strftime's %Y: glibc writes year 999 as "999", which sorts after "2026" (a key range from or to a
    # year below 1000 would hold the wrong items).
    return f"{value.year:04d}{value.strftime('-%m-%dT%H:%M:%S.%fZ')}"


def key(prefix: str, value: UUID | str) -> str:
    return f"{prefix}#{value}"


def decode(item: TableItem, model: type[M]) -> M:
    if item.body is None:
        raise ValueError(f"Item {item.PK}/{item.SK} has no body")
    return model.model_validate_json(item.body)


def epoch_seconds(value: datetime.datetime) -> int:
    return int(value.timestamp())


# --- write sharding ------------------------------------------------------------------
# DynamoDB serves at most 1,000 WCU/s per partition key. A key every run writes to (all flow
# runs, all events of a day) takes a hash suffix of the item's id, and its readers query every
# shard (scatter-gather). A shard count is part of the stored keys: changing it hides items
# written under the old count from the readers.


def shard_of(item_id: UUID | str, shards: int) -> int:
    """Stable across processes (unlike hash()), so an item always lands in the same shard."""
    return zlib.crc32(str(item_id).encode()) % shards


def sharded(partition: str, item_id: UUID | str, shards: int) -> str:
    return f"{partition}#{shard_of(item_id, shards)}"


def all_shards(partition: str, shards: int) -> list[str]:
    return [f"{partition}#{n}" for n in range(shards)]


def shards_and_legacy(partition: str, shards: int) -> list[str]:
    """Every shard of a partition sharded after items were stored under it unsharded, and the
    unsharded key itself: an item written before the sharding keeps that key until its next
    write (its next write moves it to its shard), so readers query it too (one more Query,
    sent with the shards')."""
    return [*all_shards(partition, shards), partition]
