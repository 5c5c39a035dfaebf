"""Partitions kept in sort-key order, so a Query reads only the range it returns.

DynamoDB stores each partition (of the table or of a global secondary index) as a
B-tree ordered by sort key; moto instead sorts the whole partition on every Query.
This module keeps, per table and per GSI, each partition's sort keys in a sorted
list maintained with `bisect` on every write, so the emulator can walk exactly the
requested key range in either direction.

Ordering follows moto's (and so the emulator's observable) order: a base-table
partition by sort key; a GSI partition by (GSI sort key, table hash key, table sort
key), which also breaks ties between equal GSI sort keys deterministically.
Values compare as DynamoDB does: numbers numerically, strings by code point (the
same order as their UTF-8 bytes), binary bytewise.
"""

from __future__ import annotations

import base64
import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

ItemKey = tuple[Any, Any]
SortValue = tuple[int, Any]
SortKey = tuple[SortValue, ...]

BASE = ""  # the base table's slot among the index names (GSI names are never empty)


def sort_value(value: DynamoType) -> SortValue:
    """A value that orders as DynamoDB orders key attributes; the rank keeps mixed types comparable."""
    if value.type == "N":
        return (0, Decimal(value.value))
    if value.type == "S":
        return (1, value.value)
    if value.type == "B":
        raw = value.value
        return (2, raw if isinstance(raw, bytes) else base64.b64decode(raw))
    return (3, repr(value.value))  # never a valid key type; kept only so a stray item cannot break the order


@dataclass
class Partition:
    """One partition: its sort keys in order, and the table key of the item behind each."""

    keys: list[SortKey] = field(default_factory=list)
    items: dict[SortKey, ItemKey] = field(default_factory=dict)

    def add(self, sort_key: SortKey, item_key: ItemKey) -> None:
        if sort_key not in self.items:
            bisect.insort(self.keys, sort_key)
        self.items[sort_key] = item_key

    def remove(self, sort_key: SortKey) -> None:
        if self.items.pop(sort_key, None) is not None:
            del self.keys[bisect.bisect_left(self.keys, sort_key)]


@dataclass(frozen=True)
class IndexSpec:
    """Where a partition's hash and sort values come from for one index (or the base table)."""

    name: str
    hash_attr: str
    range_attr: str  # the GSI's sort key, or the table's when the GSI has none (as moto orders it)
    requires_range: bool  # a GSI with a sort key holds only items that carry it


def index_specs(table: Table) -> list[IndexSpec]:
    cached = table.__dict__.get("_sf_specs")
    if cached is None:
        cached = []
        if table.range_key_attr:
            cached.append(IndexSpec(BASE, table.hash_key_attr, table.range_key_attr, True))
            for index in table.global_indexes or []:
                hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
                ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
                # Multi-attribute keys stay on moto's own path.
                if len(hashes) == 1 and len(ranges) <= 1:
                    cached.append(
                        IndexSpec(index.name, hashes[0], ranges[0] if ranges else table.range_key_attr, bool(ranges))
                    )
        table.__dict__["_sf_specs"] = cached
    return cached


def spec_for(table: Table, index_name: str | None) -> IndexSpec | None:
    wanted = index_name or BASE
    return next((spec for spec in index_specs(table) if spec.name == wanted), None)


def _sort_key(table: Table, spec: IndexSpec, item: Item) -> tuple[Any, SortKey] | None:
    if spec.name == BASE:
        return item.hash_key, (sort_value(item.range_key),)  # type: ignore[arg-type]  # moto types an item's keys as optional; indexed items have them
    hash_value = item.attrs.get(spec.hash_attr)
    range_value = item.attrs.get(spec.range_attr)
    if hash_value is None or range_value is None:
        return None
    return hash_value, (sort_value(range_value), sort_value(item.hash_key), sort_value(item.range_key))  # type: ignore[arg-type]  # moto types an item's keys as optional; indexed items have them


@dataclass
class TableIndexes:
    """Every ordered partition of one table, and where each item sits in them (to move it on a write)."""

    partitions: dict[str, dict[Any, Partition]]
    membership: dict[ItemKey, list[tuple[str, Any, SortKey]]]

    def unindex(self, item_key: ItemKey) -> None:
        for name, hash_value, sort_key in self.membership.pop(item_key, []):
            bucket = self.partitions[name]
            partition = bucket.get(hash_value)
            if partition is not None:
                partition.remove(sort_key)
                if not partition.items:
                    del bucket[hash_value]

    def index(self, table: Table, item: Item) -> None:
        item_key = (item.hash_key, item.range_key)
        item.__dict__.pop(_SIZE, None)  # every write passes here (UpdateItem mutates in place): size it again
        self.unindex(item_key)
        entries = []
        for spec in index_specs(table):
            placed = _sort_key(table, spec, item)
            if placed is None:
                continue
            hash_value, sort_key = placed
            self.partitions[spec.name].setdefault(hash_value, Partition()).add(sort_key, item_key)
            entries.append((spec.name, hash_value, sort_key))
        if entries:
            self.membership[item_key] = entries


def _all_items(table: Table) -> Iterator[Item]:
    for bucket in table.items.values():
        yield from bucket.values()


def indexes(table: Table) -> TableIndexes:
    """The table's ordered partitions, built from its items the first time they are needed."""
    state = table.__dict__.get("_sf_ordered")
    if state is None:
        state = TableIndexes({spec.name: {} for spec in index_specs(table)}, {})
        table.__dict__["_sf_ordered"] = state
        for item in _all_items(table):
            state.index(table, item)
    return state


_SIZE = "_sf_size"


def item_size_of(item: Item) -> int:
    """moto's Item.size(), computed once per write instead of once per read (it walks every attribute)."""
    size = item.__dict__.get(_SIZE)
    if size is None:
        size = item.__dict__[_SIZE] = item.size()
    return size


def lookup(table: Table, item_key: ItemKey) -> Item | None:
    bucket = table.items.get(item_key[0])
    return bucket.get(item_key[1]) if bucket is not None else None
