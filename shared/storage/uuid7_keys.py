"""Keys from the time a UUIDv7 id carries: a partition per minute of it, a sort-key range of the ids made in a span.

prefect 3.9.1's client (and the SDK) make state and event ids UUIDv7, whose first 48 bits are the creation time
in ms, so the id's text starts with that time in hex (`tttttttt-tttt`) and ids sort by it. Items that pack many
such ids (the task-run state-id pages, the event groups) are keyed by the minute of their lowest id and that id:
the id alone then tells the one partition to Query, and the sort-key range a bounded span before it.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar
from uuid import UUID

from shared.storage import store
from shared.storage.keys import MINUTE_CHARS, key, shard_of, sortable_time

Member = TypeVar("Member", bound=tuple[Any, ...])


def is_uuid7(value: UUID) -> bool:
    return value.variant == uuid.RFC_4122 and value.version == 7


def millis(value: UUID) -> int:
    """The creation time a UUIDv7 carries: ms since the epoch, its first 48 bits."""
    return value.int >> 80


def minute_partition(prefix: str, value: UUID, shards: int) -> str | None:
    """`<prefix>#<yyyy-mm-ddTHH:MM of the id's time>#<crc32(id) % shards>`, or None when the id has no time (not a
    UUIDv7, or a time past year 9999)."""
    if not is_uuid7(value):
        return None
    try:
        made = datetime.datetime.fromtimestamp(millis(value) / 1000, datetime.UTC)
    except (OverflowError, ValueError, OSError):
        return None
    return f"{key(prefix, sortable_time(made)[:MINUTE_CHARS])}#{shard_of(value, shards)}"


def prefix_at(moment_ms: int) -> str:
    """The text a UUIDv7 made at `moment_ms` starts with (`tttttttt-tttt`): ids sort by it."""
    hex_time = f"{max(moment_ms, 0):012x}"
    return f"{hex_time[:8]}-{hex_time[8:]}"


def sk_range(lowest: UUID, highest: UUID, span_ms: int) -> tuple[str, str]:
    """The sort keys (`<lowest id of the item>#...`) of the items that may hold an id in [lowest, highest] when
    every item spans at most `span_ms` of id time: from the id prefix `span_ms` before `lowest` to `<highest>#~`."""
    return prefix_at(millis(lowest) - span_ms), f"{highest}#~"


def chunks(
    by_partition: Mapping[str, Iterable[Member]],
    id_of: Callable[[Member], UUID],
    size: Callable[[Member], int],
    max_bytes: int,
    span_ms: int,
) -> Iterator[tuple[str, list[Member]]]:
    """The members of each partition (partitions in key order), sorted (a tuple led by its UUIDv7 sorts by its
    time), in chunks of at most `max_bytes` (summed `size`) whose ids span at most `span_ms` of time: what one
    item packing ids holds. The same members always make the same chunks (item keys are derived from them)."""

    def past_span(first: Member, other: Member) -> bool:
        return millis(id_of(other)) - millis(id_of(first)) > span_ms

    for pk, members in sorted(by_partition.items()):
        for chunk in store.chunked(sorted(members), size, max_bytes, splits=past_span):
            yield pk, chunk
