"""Make moto's DynamoDB fast enough to stand in for DynamoDB under real load.

moto is built for unit tests: every Query walks the whole table, every
TransactWriteItems deep-copies the whole table to be able to roll back, and the
table's stream keeps every record forever. Served as a long-running local stack
those are O(table size) per request and unbounded memory. This module, applied
only inside the emulator process, keeps moto's semantics but:

- answers Query from ordered partition indexes (base table and each GSI) kept in
  step with every write (`sorted_partitions`), so a query reads only the key range
  it returns, in order, and stops at its page's end (`ordered_query`);
- runs TransactWriteItems as DynamoDB does: all conditions checked first, then all
  writes, rolling back only the touched items if a write fails;
- keeps the last STREAM_RECORDS_KEPT stream records (DynamoDB keeps 24 hours);
- serialises item-heavy read responses with `json.dumps` (`fast_responses`);
- hashes and compares string and binary key values on their value (moto recomputes a cast per lookup);
- converts a read result's scalar attribute values in one step (moto recurses into each);
- checks the 400 KB item limit from a running size instead of re-measuring every attribute of the item
  on each attribute set (quadratic per item written: ~30% of the emulator's CPU per write);
- refuses a Query whose BETWEEN has its lower bound above its upper one, as DynamoDB does (moto answers it
  with nothing: code that would fail on AWS passed locally);
- remembers which service a request's host names and which actions a response class has: moto
  lists its package directory (an isdir per service module) and inspects the class's members on
  every request, ~0.7 ms of the ~1.1 ms an empty Query costs the emulator, and sharded reads send
  one Query per shard.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable
from typing import Any

from moto.core import responses as moto_responses
from moto.dynamodb import responses as moto_dynamodb_responses
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    ItemSizeTooLarge,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import utilities as moto_utilities
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodb.models.utilities import bytesize
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from infra.local import fast_responses
from infra.local.ordered_query import ordered_query
from infra.local.sorted_partitions import indexes, lookup, sort_value, spec_for

# Enough for the stream-fed functions to catch up after a burst of writes (a reader that still falls
# behind resumes at the newest record: infra/local/streams.py).
STREAM_RECORDS_KEPT = 20000

# moto's own Table.query once `apply()` has replaced it: the reference the tests and the bench compare against.
moto_query: Callable[..., Any] | None = None

ItemKey = tuple[Any, Any]


# --- ordered partition indexes ----------------------------------------------------------


def _item_key(table: Table, item: Item) -> ItemKey:
    return (item.hash_key, item.range_key if table.range_key_attr else None)


def _unindex(table: Table, key: ItemKey) -> None:
    indexes(table).unindex(key)


def _reindex(table: Table, item: Item | None, key: ItemKey | None = None) -> None:
    if item is None:
        if key is not None:
            _unindex(table, key)
        return
    if table.range_key_attr:
        indexes(table).index(table, item)


def _lookup(table: Table, key: ItemKey) -> Item | None:
    hash_key, range_key = key
    return table.get_item(hash_key, range_key) if range_key is not None else table.items.get(hash_key)  # type: ignore[return-value]  # moto's items map is untyped; it holds Items


def _candidates(table: Table, hash_key: Any, index_name: str | None, hash_key_conditions: Any) -> list[Item] | None:
    """One partition's items, unordered, for the query shapes moto answers itself (it sorts them)."""
    if index_name is None:
        if hash_key is None:
            return None
        bucket = table.items.get(hash_key)
        if bucket is None:
            return []
        return list(bucket.values()) if table.range_key_attr else [bucket]  # type: ignore[list-item]  # a hash-only table's bucket is the Item itself
    spec = spec_for(table, index_name)
    if spec is None or not hash_key_conditions or len(hash_key_conditions) != 1:
        return None
    attr, value = hash_key_conditions[0]
    if attr != spec.hash_attr:
        return None
    partition = indexes(table).partitions[spec.name].get(value)
    if partition is None:
        return []
    found = (lookup(table, key) for key in list(partition.items.values()))
    return [item for item in found if item is not None]


def _patch_table() -> None:
    original_put: Callable[..., Item] = Table.put_item
    original_delete: Callable[..., Item | None] = Table.delete_item
    original_query: Callable[..., Any] = Table.query

    def put_item(self: Table, *args: Any, **kwargs: Any) -> Item:
        item = original_put(self, *args, **kwargs)
        _reindex(self, item)
        return item

    def delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
        item = original_delete(self, hash_key, range_key)
        _unindex(self, (hash_key, range_key if self.range_key_attr else None))
        return item

    signature = inspect.signature(original_query)

    def query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # moto passes index_name positionally; bind to read it whichever way it comes.
        arguments = signature.bind(self, hash_key, *args, **kwargs).arguments
        comparison, bounds = arguments.get("range_comparison"), arguments.get("range_objs") or []
        is_between = (comparison or "").upper() == "BETWEEN" and len(bounds) == 2
        if is_between and sort_value(bounds[0]) > sort_value(bounds[1]):
            raise MockValidationException(
                "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than"
                " or equal to lower bound"
            )
        answer = ordered_query(
            self,
            hash_key,
            arguments.get("range_comparison"),
            arguments.get("range_objs") or [],
            arguments.get("limit"),
            arguments.get("exclusive_start_key"),
            arguments.get("scan_index_forward", True),
            arguments.get("projection_expressions"),
            arguments.get("index_name"),
            arguments.get("consistent_read", False),
            arguments.get("filter_expression"),
            arguments.get("hash_key_conditions"),
            arguments.get("range_key_conditions"),
            arguments.get("filter_kwargs") or {},
        )
        if answer is not None:
            return answer
        candidates = _candidates(self, hash_key, arguments.get("index_name"), arguments.get("hash_key_conditions"))
        if candidates is None:
            return original_query(self, hash_key, *args, **kwargs)
        # moto's query filters `all_items()`; hand it just this partition.
        self.__dict__["all_items"] = lambda: candidates
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            self.__dict__.pop("all_items", None)

    Table.put_item = put_item  # type: ignore[method-assign]  # patches the library in place (local emulator / bench instrumentation)
    Table.delete_item = delete_item  # type: ignore[method-assign]  # patches the library in place (local emulator / bench instrumentation)
    Table.query = query  # type: ignore[method-assign]  # patches the library in place (local emulator / bench instrumentation)
    global moto_query
    moto_query = original_query


# --- UpdateItem keeps the index in step (it mutates items in place) --------------------


def _patch_update() -> None:
    original_update: Callable[..., Item] = DynamoDBBackend.update_item

    def update_item(self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Item:
        item = original_update(self, table_name, key, *args, **kwargs)
        _reindex(self.get_table(table_name), item)
        return item

    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]  # patches the library in place (local emulator / bench instrumentation)


# --- TransactWriteItems without whole-table copies -----------------------------------


def _key_of(table: Table, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type == "Put":
        attrs = op["Item"]
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
        return key
    return op["Key"]  # type: ignore[no-any-return]  # the request's Key is JSON (Any)


def _dynamo_key(table: Table, key: dict[str, Any]) -> ItemKey:
    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    return (hash_value, range_value)


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen: set[tuple[str, str]] = set()
    plan: list[tuple[str, dict[str, Any], Table, dict[str, Any]]] = []
    for entry in transact_items:
        if len(entry) > 1:
            from moto.dynamodb.exceptions import TransactWriteSingleOpException

            raise TransactWriteSingleOpException
        op_type, op = next(iter(entry.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise MockValidationException("Unsupported transaction operation")
        table = self.get_table(op["TableName"])
        key = _key_of(table, op_type, op)
        marker = (str(op["TableName"]), str(dict(sorted(key.items()))))
        if marker in seen:
            raise MultipleTransactionsException()
        seen.add(marker)
        plan.append((op_type, op, table, key))

    # Phase 1: every condition against the state before the transaction.
    errors: list[tuple[str | None, str | None, Any]] = []
    for _op_type, op, table, key in plan:
        current = _lookup(table, _dynamo_key(table, key))
        expression = op.get("ConditionExpression")
        if expression is not None:
            condition = get_filter_expression(
                expression, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            )
            if not condition.expr(current):
                old = None
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current is not None:
                    old = current.to_json()["Attributes"]
                errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
                continue
        errors.append((None, None, None))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)

    # Phase 2: apply, remembering only the touched items for rollback.
    snapshots: list[tuple[Table, ItemKey, Item | None]] = []
    try:
        for op_type, op, table, key in plan:
            dynamo_key = _dynamo_key(table, key)
            snapshots.append((table, dynamo_key, copy.deepcopy(_lookup(table, dynamo_key))))
            names, values = op.get("ExpressionAttributeNames") or {}, op.get("ExpressionAttributeValues") or {}
            if op_type == "Put":
                self.put_item(
                    op["TableName"], op["Item"], expression_attribute_names=names, expression_attribute_values=values
                )
            elif op_type == "Delete":
                self.delete_item(
                    op["TableName"], key, expression_attribute_names=names, expression_attribute_values=values
                )
            elif op_type == "Update":
                self.update_item(
                    op["TableName"],
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
    except (ConditionalCheckFailed, MockValidationException, Exception):
        for table, dynamo_key, previous in reversed(snapshots):
            hash_key, range_key = dynamo_key
            if previous is None:
                if _lookup(table, dynamo_key) is not None:
                    Table.delete_item(table, hash_key, range_key)
            else:
                if range_key is not None:
                    table.items[hash_key][range_key] = previous
                else:
                    table.items[hash_key] = previous  # type: ignore[assignment]  # restores what was there: an Item or a range map
                _reindex(table, previous)
        raise


# --- bounded stream ------------------------------------------------------------------


def _patch_stream() -> None:
    original_add: Callable[..., None] = StreamShard.add

    def add(self: StreamShard, old: Item | None, new: Item | None) -> None:
        original_add(self, old, new)
        overflow = len(self.items) - STREAM_RECORDS_KEPT
        if overflow > 0:
            del self.items[:overflow]
            # Sequence numbers keep increasing: they are derived from the list length.
            self.starting_sequence_number += overflow

    StreamShard.add = add  # type: ignore[method-assign]  # patches the library in place (local emulator / bench instrumentation)


# --- item size limit ------------------------------------------------------------------------

ITEM_SIZE_LIMIT = 405000  # moto's own figure (DynamoDB's 400 KB measured between 409 and 410 KB)
# Below this a cached size is trusted; nearer the limit the item is re-measured whole, as moto does, since a
# nested value changed in place (SET a.b = ...) is not seen by the running size.
EXACT_CHECK_ABOVE = 300000


def _attribute_size(key: str, value: Any) -> int:
    return bytesize(key) + (value.size() if type(value) is DynamoType else bytesize(str(value)))


def _patch_item_size() -> None:
    def set_item(self: LimitedSizeDict, key: str, value: Any) -> None:
        size: int | None = self.__dict__.get("_size")
        if size is None:
            size = sum(_attribute_size(k, v) for k, v in self.items())
        if key in self:
            size -= _attribute_size(key, dict.__getitem__(self, key))
        size += _attribute_size(key, value)
        if size > EXACT_CHECK_ABOVE:
            others = sum(_attribute_size(k, v) for k, v in self.items() if k != key)
            size = others + _attribute_size(key, value)
        if size > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(self, key, value)
        self.__dict__["_size"] = size

    def del_item(self: LimitedSizeDict, key: str) -> None:
        dict.__delitem__(self, key)
        self.__dict__.pop("_size", None)

    LimitedSizeDict.__setitem__ = set_item  # type: ignore[method-assign]  # patches moto in place (running item size)
    LimitedSizeDict.__delitem__ = del_item  # type: ignore[method-assign,assignment]  # patches moto in place (running item size)


# --- key lookups: string and binary values hash and compare on their value ----------------------------
# moto's DynamoType hashes and compares `(type, cast_value)`, and `cast_value` walks five type checks
# before it returns a string's or a binary's own value: every item a Query walks is looked up by its
# table key (two dict lookups, each a hash and an equality), ~40% of a COUNT Query's time. For S and B
# values the same hash and equality are computed directly (identical answers: `cast_value` is the value).


def _patch_dynamo_type() -> None:
    original_hash: Callable[[DynamoType], int] = DynamoType.__hash__
    original_eq: Callable[[DynamoType, Any], bool] = DynamoType.__eq__

    def value_hash(self: DynamoType) -> int:
        kind = self.type
        if kind == "S" or kind == "B":
            return hash((kind, self.value))
        return original_hash(self)

    def value_eq(self: DynamoType, other: Any) -> bool:
        kind = self.type
        if (kind == "S" or kind == "B") and type(other) is DynamoType:
            return kind == other.type and bool(self.value == other.value)
        return original_eq(self, other)

    DynamoType.__hash__ = value_hash  # type: ignore[method-assign]  # patches moto in place (same answers, faster)
    DynamoType.__eq__ = value_eq  # type: ignore[method-assign]  # patches moto in place (same answers, faster)


# --- read results: scalar attribute values converted in one step ------------------------------------
# Every read's result passes moto's `dynamo_to_dict` (DynamoResult), which recurses into each attribute
# value's own value to find nothing to convert in a string, number, boolean or null: ~30 calls per
# returned item, a quarter of a small Query's emulator time. Those four are answered directly (the same
# `{type: value}` moto builds); every other value (binary, sets, lists, maps) keeps moto's conversion.
SCALAR_TYPES = frozenset({"S", "N", "BOOL", "NULL"})


# moto's own conversion once `apply()` has replaced it: what the tests compare against.
moto_dynamo_to_dict: Callable[[Any], Any] | None = None


def _patch_dynamo_to_dict() -> None:
    global moto_dynamo_to_dict
    original: Callable[[Any], Any] = moto_utilities.dynamo_to_dict
    moto_dynamo_to_dict = original

    def dynamo_to_dict(obj: Any) -> Any:
        if type(obj) is DynamoType and obj.type in SCALAR_TYPES:
            return {obj.type: obj.value}
        if type(obj) is dict:
            return {key: dynamo_to_dict(value) for key, value in obj.items()}
        return original(obj)

    # moto's own recursion looks the name up in its module, and DynamoResult imported it by name: both.
    moto_utilities.dynamo_to_dict = dynamo_to_dict
    moto_dynamodb_responses.dynamo_to_dict = dynamo_to_dict  # type: ignore[attr-defined]  # moto imports it by name; the lock pins moto


# Distinct hosts are a few service names and endpoints; the bound only guards against odd Host headers.
BACKEND_HOSTS_KEPT = 256


def _patch_dispatch() -> None:
    original = DomainDispatcherApplication.get_backend_for_host
    backends: dict[str | None, Any] = {}

    def get_backend_for_host(self: DomainDispatcherApplication, host: str | None) -> Any:
        # The answer depends on the host and moto's static URL patterns only; callers hold the app's lock.
        if host not in backends:
            if len(backends) >= BACKEND_HOSTS_KEPT:
                backends.clear()
            backends[host] = original(self, host)
        return backends[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]  # patches the library in place (local emulator)
    # A response class's methods are fixed once the emulator serves (patches are applied before).
    moto_responses.method_names_from_class = functools.cache(moto_responses.method_names_from_class)  # type: ignore[attr-defined]  # patches the library in place (local emulator)


_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    _patch_table()
    _patch_update()
    _patch_stream()
    _patch_item_size()
    _patch_dynamo_type()
    _patch_dynamo_to_dict()
    _patch_dispatch()
    fast_responses.apply()
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]  # patches the library in place (local emulator / bench instrumentation)
    _applied = True
