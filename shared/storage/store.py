"""Thin, typed operations on the table that every repository uses.

Repositories build keys; this module runs the reads and (conditional) writes and
counts items read versus returned so benchmarks can report index efficiency.
"""

from __future__ import annotations

import contextvars
import functools
import heapq
import itertools
import logging
import math
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, TypedDict, TypeVar, Unpack

from pynamodb.constants import CAMEL_COUNT, COUNT, SCANNED_COUNT
from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.pagination import PageIterator
from pynamodb.transactions import TransactWrite

from shared.storage.errors import ConcurrentUpdate, KeyTooLarge, ObjectAlreadyExists
from shared.storage.table import GSI_COUNT, INDEXES, TableItem

META = "#META"
T = TypeVar("T")
K = TypeVar("K")
logger = logging.getLogger("serverflow.storage")


@dataclass
class ReadStats:
    """Per-thread counters: items the table returned vs items the API returned."""

    items_read: int = 0
    queries: int = 0
    by_query: list[tuple[str, int]] = field(default_factory=list)


_stats = threading.local()


def read_stats() -> ReadStats:
    if not hasattr(_stats, "value"):
        _stats.value = ReadStats()
    return _stats.value  # type: ignore[no-any-return]  # threading.local attributes are untyped


def reset_read_stats() -> ReadStats:
    _stats.value = ReadStats()
    return _stats.value  # type: ignore[no-any-return]  # threading.local attributes are untyped


def _is_conditional_failure(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    if cause == "ConditionalCheckFailedException":
        return True
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)


# DynamoDB's key limits, in UTF-8 bytes: past them every request naming the key is a ValidationException.
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
_KEY_ATTRIBUTES = [("PK", "SK")] + [(f"GSI{n}PK", f"GSI{n}SK") for n in range(1, GSI_COUNT + 1)]


def _fits(pk: str | None, sk: str | None = None) -> bool:
    return (pk is None or len(pk.encode()) <= MAX_PARTITION_KEY_BYTES) and (
        sk is None or len(sk.encode()) <= MAX_SORT_KEY_BYTES
    )


def check_keys(item: TableItem) -> None:
    """Raise KeyTooLarge (a 422) for an item whose table or index keys DynamoDB would refuse.

    Names, keys and tags become parts of keys; a 3 KB flow name used to be a 500."""
    for pk_attr, sk_attr in _KEY_ATTRIBUTES:
        if not _fits(getattr(item, pk_attr), getattr(item, sk_attr)):
            raise KeyTooLarge(
                f"A name, key or tag is too long to store: {item.entity} keys are limited to "
                f"{MAX_PARTITION_KEY_BYTES} bytes ({MAX_SORT_KEY_BYTES} when sorted on) in UTF-8."
            )


def readable(items: Iterable[TableItem], decode: Callable[[TableItem], T]) -> Iterator[T]:
    """Decode each item, skipping (and logging) any that no longer validates.

    Writes validate with the read model, so this should never skip; if it does, one bad item
    must not fail a whole filter, count or get_scheduled_flow_runs for every caller."""
    for item in items:
        try:
            yield decode(item)
        except (ValueError, RecursionError) as exc:  # pydantic's ValidationError is a ValueError
            logger.error("Skipping unreadable %s item %s %s: %s", item.entity, item.PK, item.SK, str(exc)[:500])


def get(pk: str, sk: str = META, *, consistent: bool = True) -> TableItem | None:
    """One item by key. `consistent=False` halves the read's price where a just-written item may be missed."""
    if not _fits(pk, sk):
        return None  # nothing can be stored under a key DynamoDB would refuse
    try:
        item = TableItem.get(pk, sk, consistent_read=consistent)
    except TableItem.DoesNotExist:
        return None
    read_stats().items_read += 1
    return item


def item_size(item: TableItem) -> int:
    """An item's size as DynamoDB bills it: each attribute's name and value (bodies as stored, compressed);
    numbers counted as their text, slightly over DynamoDB's own encoding."""
    size = 0
    for name, value in item.serialize().items():
        (stored,) = value.values()
        size += len(name) + len(stored if isinstance(stored, bytes) else str(stored).encode())
    return size


def batch_get(
    keys: Iterable[tuple[str, str]], *, consistent: bool = True, attributes: list[str] | None = None
) -> list[TableItem]:
    """Items by key (each once), in no particular order (absent keys are left out). `consistent=False` halves
    the read units: for readers whose keys come from an (eventually consistent) index, or whose items cannot
    have just changed. `attributes`: return only these (the same units; less for botocore to parse)."""
    unique = [k for k in dict.fromkeys(keys) if _fits(*k)]
    if not unique:
        return []
    items = list(TableItem.batch_get(unique, consistent_read=consistent, attributes_to_get=attributes))
    read_stats().items_read += len(items)
    return items


def put_new(item: TableItem) -> None:
    """Write an item that must not exist yet."""
    check_keys(item)
    try:
        item.save(condition=TableItem.PK.does_not_exist())
    except PutError as exc:
        if _is_conditional_failure(exc):
            raise ObjectAlreadyExists(item.PK) from exc
        raise


def put_if_absent(item: TableItem) -> bool:
    """`put_new` for claims: False instead of ObjectAlreadyExists when the key is taken."""
    try:
        put_new(item)
    except ObjectAlreadyExists:
        return False
    return True


def put(item: TableItem, condition: Condition | None = None) -> None:
    check_keys(item)
    try:
        item.save(condition=condition)
    except PutError as exc:
        if _is_conditional_failure(exc):
            raise ConcurrentUpdate(item.PK) from exc
        raise


def delete(item: TableItem, condition: Condition | None = None) -> None:
    try:
        item.delete(condition=condition)
    except DeleteError as exc:
        if _is_conditional_failure(exc):
            raise ConcurrentUpdate(item.PK) from exc
        raise


def batch_put(items: Iterable[TableItem]) -> int:
    """Unconditional writes, 25 per BatchWriteItem call (for idempotent, keyed-by-id items).

    DynamoDB rejects a batch naming one key twice, so repeats keep the last item."""
    unique = {(item.PK, item.SK): item for item in items}
    for item in unique.values():
        check_keys(item)
    with TableItem.batch_write() as batch:
        for item in unique.values():
            batch.save(item)
    return len(unique)


def chunked(
    items: Iterable[T], size: Callable[[T], int], max_size: int, splits: Callable[[T, T], bool] | None = None
) -> Iterator[list[T]]:
    """Items, in the given order, in runs of at most `max_size` (summed `size`; an item bigger alone is a
    run of its own), a new run also where `splits(first item of the run, item)`: for group items (several
    entities in one item, under DynamoDB's 400 KB), the same items always make the same groups."""
    chunk: list[T] = []
    total = 0
    for item in items:
        item_size = size(item)
        if chunk and (total + item_size > max_size or (splits is not None and splits(chunk[0], item))):
            yield chunk
            chunk, total = [], 0
        chunk.append(item)
        total += item_size
    if chunk:
        yield chunk


def batch_delete(keys: Iterable[tuple[str, str]]) -> int:
    """Unconditional deletes, 25 per BatchWriteItem call (absent keys are no error)."""
    unique = list(dict.fromkeys(keys))
    with TableItem.batch_write() as batch:
        for pk, sk in unique:
            batch.delete(TableItem(pk, sk))
    return len(unique)


def delete_key(pk: str, sk: str = META) -> None:
    TableItem(pk, sk).delete()


def update(item: TableItem, actions: list[Any], condition: Condition | None = None) -> None:
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if _is_conditional_failure(exc):
            raise ConcurrentUpdate(item.PK) from exc
        raise


@dataclass
class WriteBatch:
    """Ops for one all-or-nothing TransactWriteItems call."""

    puts: list[tuple[TableItem, Condition | None]] = field(default_factory=list)
    deletes: list[tuple[TableItem, Condition | None]] = field(default_factory=list)
    checks: list[tuple[TableItem, Condition]] = field(default_factory=list)
    # UpdateItem actions (e.g. ADD to a counter) under a condition: slot accounting.
    updates: list[tuple[TableItem, list[Any], Condition | None]] = field(default_factory=list)

    def put(self, item: TableItem, condition: Condition | None = None) -> WriteBatch:
        self.puts.append((item, condition))
        return self

    def put_new(self, item: TableItem) -> WriteBatch:
        self.puts.append((item, TableItem.PK.does_not_exist()))
        return self

    def delete(self, item: TableItem, condition: Condition | None = None) -> WriteBatch:
        self.deletes.append((item, condition))
        return self

    def update(self, item: TableItem, actions: list[Any], condition: Condition | None = None) -> WriteBatch:
        self.updates.append((item, actions, condition))
        return self

    def __len__(self) -> int:
        return len(self.puts) + len(self.deletes) + len(self.checks) + len(self.updates)


def transact(batch: WriteBatch, *, on_conflict: type[Exception] = ConcurrentUpdate) -> None:
    """Run the batch atomically; a failed condition raises `on_conflict`."""
    for item, _ in batch.puts:
        check_keys(item)
    if len(batch) == 1 and not batch.checks:
        # A single conditional write is atomic on its own and cheaper than a transaction.
        try:
            if batch.puts:
                item, cond = batch.puts[0]
                put(item, cond)
            elif batch.updates:
                item, actions, cond = batch.updates[0]
                update(item, actions, cond)
            else:
                item, cond = batch.deletes[0]
                delete(item, cond)
        except ConcurrentUpdate as exc:
            raise on_conflict(str(exc)) from exc
        return
    # Reuse the model's connection: building a botocore client costs ~0.3 s (service models).
    connection = TableItem._get_connection().connection
    try:
        with TransactWrite(connection=connection) as tx:
            for item, cond in batch.puts:
                tx.save(item, condition=cond)
            for item, cond in batch.deletes:
                tx.delete(item, condition=cond)
            for item, cond in batch.checks:
                tx.condition_check(TableItem, item.PK, item.SK, condition=cond)
            for item, actions, cond in batch.updates:
                tx.update(item, actions=actions, condition=cond)
    except TransactWriteError as exc:
        if _is_conditional_failure(exc):
            raise on_conflict(str(exc)) from exc
        raise


def put_then_batch(batch: WriteBatch, *, on_conflict: type[Exception] = ConcurrentUpdate) -> None:
    """The batch's first put alone under its condition, then its other puts (new items keyed by
    ids, nothing to decide) in BatchWriteItem calls: half the units of a transaction, for writes
    where only one item's condition decides a race. Not atomic: a caller makes its reads
    tolerate the second part missing (see flow_run_states.history)."""
    (first, condition), *rest = batch.puts
    if batch.deletes or batch.checks or batch.updates:
        raise ValueError("put_then_batch takes puts only")
    try:
        put(first, condition)
    except ConcurrentUpdate as exc:
        raise on_conflict(str(exc)) from exc
    if rest:
        batch_put(item for item, _ in rest)


class KeyRange(TypedDict, total=False):
    """How a Query narrows a partition's sort keys (one of: a prefix, bounds) and which way it reads."""

    sk_prefix: str | None
    sk_gte: str | None
    sk_lte: str | None
    descending: bool


def _holds_nothing(pk: str, key_range: KeyRange) -> bool:
    """Whether no stored item can be in the range: a key DynamoDB would refuse, or a window closing
    before it opens (DynamoDB refuses such a BETWEEN with a ValidationException; Python orders str by
    code point, as DynamoDB by UTF-8 bytes)."""
    sk_prefix, sk_gte, sk_lte = key_range.get("sk_prefix"), key_range.get("sk_gte"), key_range.get("sk_lte")
    return not _fits(pk, sk_prefix) or (
        sk_prefix is None and sk_gte is not None and sk_lte is not None and sk_gte > sk_lte
    )


def _range_condition(index: str | None, key_range: KeyRange) -> Condition | None:
    sk_prefix, sk_gte, sk_lte = key_range.get("sk_prefix"), key_range.get("sk_gte"), key_range.get("sk_lte")
    sk_attr = getattr(TableItem, f"{index}SK" if index else "SK")
    if sk_prefix is not None:
        return sk_attr.startswith(sk_prefix)  # type: ignore[no-any-return]  # pynamodb's attribute conditions are untyped
    if sk_gte is not None and sk_lte is not None:
        return sk_attr.between(sk_gte, sk_lte)  # type: ignore[no-any-return]  # pynamodb's attribute conditions are untyped
    if sk_gte is not None:
        return sk_attr >= sk_gte  # type: ignore[no-any-return]  # pynamodb's attribute conditions are untyped
    if sk_lte is not None:
        return sk_attr <= sk_lte  # type: ignore[no-any-return]  # pynamodb's attribute conditions are untyped
    return None


def _results(
    pk: str,
    index: str | None,
    key_range: KeyRange,
    limit: int | None = None,
    page_size: int | None = None,
    attributes: list[str] | None = None,
) -> Iterator[TableItem]:
    """pynamodb's lazy Query iterator (no request is sent before the first item is asked for).
    `attributes`: only these are returned (ProjectionExpression), for readers that need no body."""
    if _holds_nothing(pk, key_range):
        return iter(())
    source: Any = INDEXES[index] if index else TableItem
    range_condition = _range_condition(index, key_range)
    kwargs: dict[str, Any] = {"scan_index_forward": not key_range.get("descending", False)}
    if attributes is not None:
        kwargs["attributes_to_get"] = attributes
    if limit is not None:
        kwargs["limit"] = limit
    if page_size is not None:
        # Readers that stop early pay only for the pages they fetch.
        kwargs["page_size"] = page_size
    if index is None:
        kwargs["consistent_read"] = True
    results: Iterator[TableItem] = source.query(pk, range_condition, **kwargs)
    return results


def _counted(results: Iterator[TableItem], label: str, stats: ReadStats) -> Iterator[TableItem]:
    """Count one Query's items into `stats` (the request thread's, also when a scatter worker sent it)."""
    stats.queries += 1
    count = 0
    for item in results:
        count += 1
        stats.items_read += 1
        yield item
    stats.by_query.append((label, count))


def _label(pk: str, index: str | None) -> str:
    return f"{index or 'TABLE'}:{pk.split('#')[0]}"


def query(
    pk: str,
    *,
    index: str | None = None,
    limit: int | None = None,
    page_size: int | None = None,
    attributes: list[str] | None = None,
    **key_range: Unpack[KeyRange],
) -> Iterator[TableItem]:
    """Query the table or one GSI by partition key, optionally narrowing the sort key; `attributes`: return
    only these (a reader that needs no body does not pay for parsing it)."""
    return _counted(_results(pk, index, key_range, limit, page_size, attributes), _label(pk, index), read_stats())


@dataclass(frozen=True)
class Tally:
    """A COUNT Query's answer: the items in the key range (ScannedCount: what DynamoDB reads and bills)
    and those of them its filter kept (Count). No item is sent back."""

    read: int = 0
    matched: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.read + other.read, self.matched + other.matched)


def _tally(pk: str, index: str | None, where: Condition | None, key_range: KeyRange) -> Tally:
    if _holds_nothing(pk, key_range):
        return Tally()
    # pynamodb's own pager (Model.count's), so the page totals of ScannedCount stay readable as well.
    pages: PageIterator[dict[str, Any]] = PageIterator(
        TableItem._get_connection().query,
        (pk,),
        {
            "range_key_condition": _range_condition(index, key_range),
            "filter_condition": where,
            "index_name": index,
            "consistent_read": index is None,  # GSIs only have eventually consistent reads
            "select": COUNT,
        },
    )
    return sum((Tally(page[SCANNED_COUNT], page[CAMEL_COUNT]) for page in pages), Tally())


def _counted_tally(tally: Tally, label: str, stats: ReadStats) -> Tally:
    """Count one COUNT Query's items read into `stats` (in the request's thread, as `_counted`)."""
    stats.queries += 1
    stats.items_read += tally.read
    stats.by_query.append((label, tally.read))
    return tally


def count(pk: str, *, index: str | None = None, where: Condition | None = None, **key_range: Unpack[KeyRange]) -> Tally:
    """Count a partition's items (of the table or one GSI, optionally a sort-key range) with a COUNT Query:
    DynamoDB reads them as a Query would (same units), but answers with their number, not the items.
    `where`: a FilterExpression on plain attributes (a compressed body cannot be tested)."""
    return _counted_tally(_tally(pk, index, where, key_range), _label(pk, index), read_stats())


# --- scatter-gather over write-sharded partitions ------------------------------------------------
# A sharded partition is read as one Query per shard (keys.all_shards). Sent one after another,
# 32 shards made the UI's task-run counts 18x slower; their first pages are fetched at once here
# (botocore clients are thread-safe; pynamodb shares one client per model, created below before any
# worker runs, and its other per-thread state is a session). Later pages of a shard are fetched
# lazily by the reader, which rarely needs them: each shard's first page holds its share.
# The same pool sends independent single-item writes at once (`concurrently`: the task-run
# recorder's conditional puts, which replaced one TransactWriteItems per 50 runs).
SCATTER_WORKERS = 8
_scatter_pool = ThreadPoolExecutor(max_workers=SCATTER_WORKERS, thread_name_prefix="storage-scatter")


def concurrently(calls: Iterable[Callable[[], T]]) -> list[T]:
    """Run independent table calls at once on the scatter pool; their results in the given order.

    Each call runs in a copy of the caller's context: request-scoped context variables (the bench
    meter's route attribution, tracing) stay with the caller's requests. A call's exception is
    raised here once every call has ended (the first one's, in the given order). Calls must not
    themselves wait on the pool."""
    pending = list(calls)
    if len(pending) <= 1:
        return [call() for call in pending]
    # Build the shared client here: two workers building it at once would each make one (~0.3 s).
    _ = TableItem._get_connection().connection.client
    futures = [_scatter_pool.submit(contextvars.copy_context().run, call) for call in pending]
    wait(futures)
    return [future.result() for future in futures]


def _each(call: Callable[[K], T], keys: list[K]) -> list[T]:
    return [call(key) for key in keys]


def map_concurrently(call: Callable[[K], T], keys: Iterable[K]) -> dict[K, T]:
    """`call(key)` for each distinct key (a table read each), on the scatter pool: the keys dealt into one
    slice per worker, each slice read in turn. Locally, one pool task per key cost ~30% more CPU in thread
    hand-offs for no gain (the emulator answers one request at a time); on AWS the slices' reads overlap."""
    unique = list(dict.fromkeys(keys))
    slices = [unique[k::SCATTER_WORKERS] for k in range(min(len(unique), SCATTER_WORKERS))]
    answers = concurrently(functools.partial(_each, call, part) for part in slices)
    found = {
        key: answer
        for part, part_answers in zip(slices, answers, strict=True)
        for key, answer in zip(part, part_answers, strict=True)
    }
    return {key: found[key] for key in unique}


def _opened(results: Iterator[TableItem]) -> Iterator[TableItem]:
    """Send the Query (pynamodb fetches the first page on the first item asked for)."""
    head = list(itertools.islice(results, 1))
    return itertools.chain(head, results)


def _scatter(queries: list[Iterator[TableItem]]) -> list[Iterator[TableItem]]:
    """The first page of each lazy Query, fetched concurrently; same order as given."""
    return concurrently(functools.partial(_opened, results) for results in queries)


def count_shards(
    pks: list[str], *, index: str | None, where: Condition | None = None, **key_range: Unpack[KeyRange]
) -> Tally:
    """`count` over the shards of a write-sharded partition (their COUNT Queries sent concurrently), summed."""
    tallies = concurrently(functools.partial(_tally, pk, index, where, key_range) for pk in pks)
    stats = read_stats()
    return sum((_counted_tally(t, _label(pk, index), stats) for pk, t in zip(pks, tallies, strict=True)), Tally())


def query_shards(
    pks: list[str],
    *,
    index: str | None,
    page_size: int | None = None,
    attributes: list[str] | None = None,
    **key_range: Unpack[KeyRange],
) -> Iterator[TableItem]:
    """One stream in index sort-key order over the shards of a write-sharded partition: each
    shard's Query (sent concurrently), merged. A reader that stops early reads about `page_size`
    items in all (each shard fetches its share, a quarter more for uneven shards, and further
    pages lazily)."""
    if not pks:
        return iter(())
    if len(pks) == 1:
        return query(pks[0], index=index, page_size=page_size, attributes=attributes, **key_range)
    sk_attr = f"{index}SK" if index else "SK"  # index None: the table's own partitions
    if attributes is not None and sk_attr not in attributes:
        attributes = [*attributes, sk_attr]  # the merge orders on it
    share = None if page_size is None else math.ceil(page_size / len(pks) * 1.25)
    opened = _scatter([_results(pk, index, key_range, page_size=share, attributes=attributes) for pk in pks])
    stats = read_stats()
    streams = [_counted(results, _label(pk, index), stats) for pk, results in zip(pks, opened, strict=True)]
    descending = key_range.get("descending", False)
    return heapq.merge(*streams, key=lambda item: getattr(item, sk_attr) or "", reverse=descending)
