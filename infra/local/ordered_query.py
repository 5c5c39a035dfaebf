"""Query over an ordered partition: read only the key range, in order, and stop at the page's end.

Same answer as moto's `Table.query` (items, ScannedCount, LastEvaluatedKey) for a
single-attribute key, without sorting the partition: the key condition becomes a
slice of the partition's sorted keys, ExclusiveStartKey a bisect into it, and the
walk stops after `Limit` items (DynamoDB counts them before the FilterExpression)
or 1 MB. `None` means "not a shape this path answers": the caller uses moto's.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from typing import Any

from moto.dynamodb.comparisons import AttributePath, AttributeValue, OpEqual
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table

from infra.local.sorted_partitions import (
    BASE,
    IndexSpec,
    Partition,
    SortKey,
    SortValue,
    indexes,
    item_size_of,
    lookup,
    sort_value,
    spec_for,
)

MAX_ITEM_SIZE = 400 * 1024  # DynamoDB's item size limit: beyond a range, only an item this big can end a page on size

_COMPARISONS = {
    "=": "EQ",
    "EQ": "EQ",
    "<": "LT",
    "LT": "LT",
    "<=": "LE",
    "LE": "LE",
    ">": "GT",
    "GT": "GT",
    ">=": "GE",
    "GE": "GE",
    "BETWEEN": "BETWEEN",
    "BEGINS_WITH": "BEGINS_WITH",
}


def _predicate(filter_expression: Any) -> Callable[[Item], bool]:
    """The FilterExpression as a test of one item. `attribute = :string` (the storage layer's COUNT filters,
    e.g. anchors only) is tested on the attribute's value directly: moto's operand tree casts both sides
    per item, most of a filtered count's time. Same answer as moto's: a missing attribute is no match, a
    string or binary value compares its value (its cast), any other type is left to moto's tree."""
    lhs, rhs = getattr(filter_expression, "lhs", None), getattr(filter_expression, "rhs", None)
    if not (
        type(filter_expression) is OpEqual
        and type(lhs) is AttributePath
        and len(lhs.path) == 1
        and type(rhs) is AttributeValue
        and rhs.type == "S"
    ):
        return filter_expression.expr  # type: ignore[no-any-return]  # moto's expression tree is untyped
    name, wanted = lhs.path[0], rhs.value

    def equal(item: Item) -> bool:
        value = item.attrs.get(name)
        if value is None:
            return False
        if value.type == "S" or value.type == "B":
            return bool(value.value == wanted)
        return bool(filter_expression.expr(item))

    return equal


def _primary(key: SortKey) -> SortValue:
    return key[0]


def _key_range(keys: list[SortKey], comparison: str | None, bounds: list[SortValue]) -> tuple[int, int] | None:
    """The slice [lo, hi) of `keys` whose sort key satisfies the key condition."""
    n = len(keys)
    if comparison is None:
        return 0, n
    op = _COMPARISONS.get(comparison.upper())
    if op is None:
        return None

    def left(value: SortValue) -> int:
        return bisect.bisect_left(keys, value, key=_primary)

    def right(value: SortValue) -> int:
        return bisect.bisect_right(keys, value, key=_primary)

    if op == "EQ":
        return left(bounds[0]), right(bounds[0])
    if op == "LT":
        return 0, left(bounds[0])
    if op == "LE":
        return 0, right(bounds[0])
    if op == "GT":
        return right(bounds[0]), n
    if op == "GE":
        return left(bounds[0]), n
    if op == "BETWEEN":
        lo, hi = left(bounds[0]), right(bounds[1])
        return lo, max(lo, hi)
    rank, prefix = bounds[0]
    if rank not in (1, 2):  # begins_with is defined on strings and binary only
        return None
    width = len(prefix)

    def truncated(key: SortKey) -> SortValue:
        # Cutting every key to the prefix's length keeps the order, so the prefix's run ends at a bisect too.
        own_rank, value = key[0]
        return (own_rank, value[:width]) if own_rank == rank else key[0]

    lo = left(bounds[0])
    return lo, bisect.bisect_right(keys, (rank, prefix), lo=lo, key=truncated)


def _start_key(spec: IndexSpec, table: Table, start: dict[str, Any], hash_value: DynamoType) -> SortKey | None:
    """ExclusiveStartKey as a position in the partition (None: malformed or another partition)."""
    try:
        if DynamoType(start[spec.hash_attr]) != hash_value:
            return None
        own = sort_value(DynamoType(start[spec.range_attr]))
        if spec.name == BASE:
            return (own,)
        if table.range_key_attr is None:
            return None
        return (
            own,
            sort_value(DynamoType(start[table.hash_key_attr])),
            sort_value(DynamoType(start[table.range_key_attr])),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _partition(table: Table, spec: IndexSpec, hash_value: DynamoType) -> Partition:
    state = indexes(table)
    partition = state.partitions[spec.name].get(hash_value)
    if spec.name == BASE:
        # Self-check against moto's own storage (O(1)): anything that wrote around put/delete is re-read.
        stored = table.items.get(hash_value) or {}
        if len(stored) != (len(partition.items) if partition else 0):
            for item in list(stored.values()):
                state.index(table, item)
            if partition is not None:
                for item_key in list(partition.items.values()):
                    if lookup(table, item_key) is None:
                        state.unindex(item_key)
            partition = state.partitions[spec.name].get(hash_value)
    return partition or Partition()


def ordered_query(
    table: Table,
    hash_key: DynamoType | None,
    range_comparison: str | None,
    range_objs: list[DynamoType],
    limit: int | None,
    exclusive_start_key: dict[str, Any] | None,
    scan_index_forward: bool,
    projection_expressions: list[list[str]] | None,
    index_name: str | None,
    consistent_read: bool,
    filter_expression: Any,
    hash_key_conditions: list[tuple[str, DynamoType]] | None,
    range_key_conditions: list[tuple[str, str, list[DynamoType]]] | None,
    filter_kwargs: dict[str, Any],
) -> tuple[list[Item], int, dict[str, Any] | None] | None:
    spec = spec_for(table, index_name)
    if spec is None or filter_kwargs or (limit is not None and limit < 1) or (index_name and consistent_read):
        return None
    if spec.name == BASE:
        if hash_key is None:
            return None
        hash_value = hash_key
    else:
        if not hash_key_conditions or len(hash_key_conditions) != 1 or hash_key_conditions[0][0] != spec.hash_attr:
            return None
        hash_value = hash_key_conditions[0][1]
        if range_comparison and not spec.requires_range:
            return None  # moto rejects a sort-key condition on a GSI without a sort key: let it
    if range_key_conditions and (len(range_key_conditions) != 1 or range_key_conditions[0][0] != spec.range_attr):
        return None
    bounds = [sort_value(value) for value in range_objs]

    partition = _partition(table, spec, hash_value)
    keys = partition.keys
    window = _key_range(keys, range_comparison, bounds)
    if window is None:
        return None
    lo, hi = window
    after_start, before_start = 0, len(keys)  # positions after the ExclusiveStartKey in either direction
    if exclusive_start_key is not None:
        start = _start_key(spec, table, exclusive_start_key, hash_value)
        if start is None:
            return None
        after_start, before_start = bisect.bisect_right(keys, start), bisect.bisect_left(keys, start)

    if scan_index_forward:
        walk: Iterator[int] = iter(range(max(lo, after_start), hi))
        tail: Iterator[int] = iter(range(max(hi, after_start), len(keys)))
    else:
        walk = iter(range(min(hi, before_start) - 1, lo - 1, -1))
        tail = iter(range(min(lo, before_start) - 1, -1, -1))

    def item_at(position: int) -> Item | None:
        return lookup(table, partition.items[keys[position]])

    results: list[Item] = []
    size = 0
    page_ended = False
    for position in walk:
        item = item_at(position)
        if item is None:
            continue
        item_size = item_size_of(item)
        if len(results) == limit or size + item_size > RESULT_SIZE_LIMIT:
            page_ended = True
            break
        results.append(item)
        size += item_size
    if not page_ended and results:
        # Past the range moto still steps on: a next item there ends the page (LastEvaluatedKey) when the
        # page is full, or when it would overflow 1 MB (possible only for a page within an item of the limit).
        for position in tail:
            item = item_at(position)
            if item is None:
                continue
            if len(results) == limit or size + item_size_of(item) > RESULT_SIZE_LIMIT:
                page_ended = True
                break
            if size <= RESULT_SIZE_LIMIT - MAX_ITEM_SIZE:
                break
    last_evaluated_key = table._get_last_evaluated_key(results[-1], index_name) if page_ended and results else None

    scanned = len(results)
    # moto deep-copies the page here; nothing below mutates an item (projections build new ones) and the
    # response is serialised before the next request runs (requests are serialised), as GetItem already relies on.
    if index_name:
        index = table.get_index(index_name)
        if (index.projection or {}).get("ProjectionType") not in (None, "ALL"):  # ALL: moto's project() keeps the item
            results = [index.project(item) for item in results]
    if filter_expression is not None:
        keep = _predicate(filter_expression)
        results = [item for item in results if keep(item)]
    if projection_expressions:
        results = [item.project(projection_expressions) for item in results]
    return results, scanned, last_evaluated_key
