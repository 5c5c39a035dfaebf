"""Filtering flow runs: pick the narrowest key or index, match in Python, sort, page.

The reference answers the joined filters (flows, task runs, deployments, work pools,
work queues) with EXISTS sub-queries; here each joined filter becomes a set of allowed
ids (flow ids, run ids, deployment ids...), which both narrows the read and is checked
per run. The sets from other filters are computed by queries.py (the floor above, where
the filters of several entities meet); this module reads repositories only. Index choice, narrowest first:
  run ids (filter ids / task-run join) -> BatchGetItem
  parent_task_run_id                   -> GSI3 (one query per value)
  deployment_id                        -> GSI4
  flow ids (flow filter join)          -> GSI2
  in-flight state types only           -> GSI5
  an expected_start_time window        -> GSI7 read as a key range (all shards)
  state type                           -> GSI5
  otherwise                            -> GSI1 (all runs)
The window (`range_hints`, AND semantics: an OR of criteria guarantees nothing) is what
Prefect's UI sends for its dashboard and runs page: without it those read every stored run.
Against a state hint: the partitions of PENDING / RUNNING / CANCELLING / PAUSED hold only the
runs in flight now (bounded by concurrency, not by history), so a filter asking only for those
reads GSI5; a family that accumulates (SCHEDULED, the terminal states) is close to all runs, so
the window (bounded on one or both sides) reads fewer.
GSI1-5 are sorted by run id (UUIDv7), so with the default ID_DESC sort and a single partition
the read stops as soon as offset+limit runs matched. GSI7 is sorted by expected start: an
expected-start sort reads it in the requested direction and stops the same way (window or
not); any other sort reads the whole window, then sorts and pages in Python. GSI1-4 and GSI7
list the runs' index anchors: their runs are fetched by key a page at a time (offset+limit
first), so an early-stopping read fetches about the runs it returns. A count whose every
criterion the index read implies (no criteria, or only the window) counts the index entries
without fetching the runs (`count_in_index`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from shared.schemas.filters.base import FilterContext
from shared.schemas.filters.deployments import WorkPoolFilter, WorkQueueFilter
from shared.schemas.filters.runs import FlowRunFilter
from shared.schemas.flow_runs import FlowRun
from shared.schemas.sorting import FlowRunSort, apply_sort, paginate
from shared.schemas.states import StateType
from shared.storage import flow_run_index, store
from shared.storage import flow_runs as runs
from shared.storage import task_runs as task_run_store
from shared.storage import work_pools as pool_store
from shared.storage import work_queues as queue_store
from shared.storage.table import TableItem

# Above this many flows, one query per flow costs more than reading all runs once.
MAX_FLOW_PARTITIONS = 25

# State types whose runs are executing now: their GSI5 partitions stay small however many runs are stored.
IN_FLIGHT_STATES = {StateType.PENDING, StateType.RUNNING, StateType.CANCELLING, StateType.PAUSED}


@dataclass(frozen=True)
class Partition:
    """The shards of one index partition, read as one ordered stream, optionally a sort-key range."""

    pks: tuple[str, ...]
    index: str
    sk_gte: str | None = None
    sk_lte: str | None = None


def _uuids(values: Iterable[Any]) -> list[UUID]:
    return [UUID(str(v)) for v in dict.fromkeys(values)]


# --- joins to the pool and queue repositories (the other joins are computed by queries.py) ---


def _work_pool_ids(work_pools: WorkPoolFilter | None) -> set[UUID] | None:
    if work_pools is None:
        return None
    return {pool.id for pool in pool_store.filter_work_pools(work_pools)}


def _work_queue_ids(work_queues: WorkQueueFilter | None) -> set[UUID] | None:
    if work_queues is None:
        return None
    return {queue.id for queue in queue_store.filter_work_queues(work_queues)}


def filter_context() -> FilterContext:
    def task_run_flow_run_id(task_run_id: UUID) -> UUID | None:
        task_run = task_run_store.read(task_run_id)
        return task_run.flow_run_id if task_run else None

    return FilterContext(task_run_flow_run_id=task_run_flow_run_id)


# --- candidate reads ------------------------------------------------------------------


def _window(flow_runs: FlowRunFilter | None) -> Partition | None:
    """The GSI7 range holding every run the filter's expected_start_time window allows (None: no window)."""
    after, before = (flow_runs.range_hints() if flow_runs is not None else {}).get("expected_start_time", (None, None))
    if after is None and before is None:
        return None
    bounds = runs.expected_start_range(after, before)
    if bounds is None:
        return Partition((), "GSI7")  # no run can be in it (after > before): nothing to read
    return Partition(tuple(runs.all_runs_partitions()), "GSI7", *bounds)


def _partitions(hints: dict[str, list[Any]], flow_ids: set[UUID] | None, window: Partition | None) -> list[Partition]:
    """The partitions to read, narrowest first (see the module docstring)."""
    if "parent_task_run_id" in hints:
        return [Partition((runs.parent_task_partition(v),), "GSI3") for v in _uuids(hints["parent_task_run_id"])]
    if "deployment_id" in hints:
        return [Partition((runs.deployment_partition(v),), "GSI4") for v in _uuids(hints["deployment_id"])]
    if flow_ids is not None and len(flow_ids) <= MAX_FLOW_PARTITIONS:
        return [Partition((runs.flow_partition(v),), "GSI2") for v in sorted(flow_ids)]
    if "state_type" in hints:
        states = list(dict.fromkeys(StateType(v) for v in hints["state_type"]))
        if window is None or set(states) <= IN_FLIGHT_STATES:
            return [Partition(tuple(runs.state_partitions(v)), "GSI5") for v in states]
    if window is not None:
        return [window]
    return [ALL_RUNS]


ALL_RUNS = Partition(tuple(runs.all_runs_partitions()), "GSI1")
BY_EXPECTED_START = Partition(tuple(runs.all_runs_partitions()), "GSI7")


# Smallest Query page of a reader that stops early: a page of offset+limit items when every item matches,
# without one round trip per item when the filter rejects most of them.
MIN_PAGE_SIZE = 100


def _stream(partition: Partition, wanted: int | None = None) -> Iterator[FlowRun]:
    """The partition's runs, newest first. GSI5 lists run items; the others list index anchors
    (flow_runs.runs_of fetches their runs: `wanted` of them first, for a reader that stops early)."""
    page_size = None if wanted is None else max(wanted, MIN_PAGE_SIZE)
    entries = store.query_shards(
        list(partition.pks),
        index=partition.index,
        descending=True,
        page_size=page_size,
        attributes=flow_run_index.LISTED_ATTRIBUTES,
        sk_gte=partition.sk_gte,
        sk_lte=partition.sk_lte,
    )
    if partition.index == "GSI5":
        return store.readable(entries, runs.from_item)
    return runs.runs_of(entries, first_page=wanted or flow_run_index.MAX_PAGE)


def _candidates(partitions: list[Partition], run_ids: set[UUID] | None, wanted: int | None = None) -> Iterator[FlowRun]:
    if run_ids is not None:
        yield from runs.read_many(sorted(run_ids))
        return
    for partition in partitions:
        yield from _stream(partition, wanted)


def _allowed_run_ids(hints: dict[str, list[Any]], task_run_ids: set[UUID] | None) -> set[UUID] | None:
    ids = set(_uuids(hints["id"])) if "id" in hints else None
    if task_run_ids is not None:
        ids = task_run_ids if ids is None else ids & task_run_ids
    return ids


def filter_runs(
    flow_runs: FlowRunFilter | None = None,
    *,
    task_run_flow_run_ids: set[UUID] | None = None,
    flow_ids: set[UUID] | None = None,
    deployment_ids: set[UUID] | None = None,
    work_pools: WorkPoolFilter | None = None,
    work_queues: WorkQueueFilter | None = None,
    sort: FlowRunSort = FlowRunSort.ID_DESC,
    offset: int = 0,
    limit: int | None = None,
) -> list[FlowRun]:
    """Runs matching `flow_runs` and the joins: the ids the joined filters allow (None: that
    filter is absent; queries.filter_flow_runs computes them), and the pool / queue filters."""
    hints = flow_runs.index_hints() if flow_runs is not None else {}
    run_ids = _allowed_run_ids(hints, task_run_flow_run_ids)
    pool_ids = _work_pool_ids(work_pools)
    queue_ids = _work_queue_ids(work_queues)
    if any(ids is not None and not ids for ids in (run_ids, flow_ids, deployment_ids, pool_ids, queue_ids)):
        return []
    ctx = filter_context()

    def keep(run: FlowRun) -> bool:
        return (
            (flow_ids is None or run.flow_id in flow_ids)
            and (deployment_ids is None or run.deployment_id in deployment_ids)
            and (pool_ids is None or run.work_pool_id in pool_ids)
            and (queue_ids is None or run.work_queue_id in queue_ids)
            and (flow_runs is None or flow_runs.matches(run, ctx))
        )

    partitions = _partitions(hints, flow_ids, _window(flow_runs))
    single_source = None if run_ids is not None or len(partitions) != 1 else partitions[0]
    if (
        sort == FlowRunSort.ID_DESC
        and limit is not None
        and single_source is not None
        and single_source.index != "GSI7"
    ):
        # The index already yields ID_DESC order: stop reading once the page is full, and fetch pages of about
        # that size (a default page is 1 MB, ~500 runs, all read and charged for a page of 100).
        if offset + limit == 0:
            return []
        page: list[FlowRun] = []
        for run in _candidates(partitions, run_ids, wanted=offset + limit):
            if keep(run):
                page.append(run)
                if len(page) >= offset + limit:
                    break
        return page[offset:]
    if sort in EXPECTED_START_SORTS and limit is not None and single_source is not None:
        if single_source == ALL_RUNS:
            return _by_expected_start(keep, sort, offset, limit, BY_EXPECTED_START)
        if single_source.index == "GSI7":
            return _by_expected_start(keep, sort, offset, limit, single_source)
    matched = [run for run in _candidates(partitions, run_ids) if keep(run)]
    return paginate(apply_sort(matched, sort), offset, limit)


EXPECTED_START_SORTS = {FlowRunSort.EXPECTED_START_TIME_ASC, FlowRunSort.EXPECTED_START_TIME_DESC}


def _by_expected_start(
    keep: Callable[[FlowRun], bool], sort: FlowRunSort, offset: int, limit: int, by_start: Partition
) -> list[FlowRun]:
    """Read GSI7 (all runs by expected start, or a window of it) in the requested direction and stop
    once the page is full — and the runs tied with its last one are in, so the id tiebreak is applied exactly."""
    if offset + limit == 0:
        return []
    descending = sort == FlowRunSort.EXPECTED_START_TIME_DESC
    page: list[FlowRun] = []
    entries = store.query_shards(
        list(by_start.pks),
        index="GSI7",
        descending=descending,
        page_size=max(offset + limit, MIN_PAGE_SIZE),
        attributes=[*flow_run_index.LISTED_ATTRIBUTES, "GSI7SK"],  # the tie check reads the sort key
        sk_gte=by_start.sk_gte,
        sk_lte=by_start.sk_lte,
    )

    def through_ties_of_a_full_page(entries: Iterator[TableItem]) -> Iterator[TableItem]:
        # Decided on the index entry (its sort key starts with the expected start), so the run past
        # the page is never fetched.
        for entry in entries:
            if len(page) >= offset + limit and not (entry.GSI7SK or "").startswith(
                runs.expected_start_prefix(page[-1].expected_start_time)
            ):
                return
            yield entry

    for run in runs.runs_of(through_ties_of_a_full_page(entries), first_page=offset + limit):
        if keep(run):
            page.append(run)
    return paginate(apply_sort(page, sort), offset, limit)


def count_in_index(flow_runs: FlowRunFilter | None) -> int | None:
    """How many runs match, counted on the index without fetching a run, when the index read
    implies every criterion: no criteria (GSI1) or only an expected_start_time window (its GSI7
    range). None: the filter needs the runs (queries.count_flow_runs then filters).

    Each entry is an anchor (tiny) or a run stored before anchors (its item); a legacy item and
    its new anchor can both be listed for a while, so distinct runs are counted. One COUNT Query
    per shard, anchors only (no entry is sent back): with no legacy entry in the range (each run
    has one anchor) that is the answer; otherwise the entries' keys are read and distinct runs
    counted. Eventually consistent, as every index read; exact but for an anchor outliving its run
    for the moment between the run's delete and its anchor's (or TTL deleting one before the other)."""
    criteria = [] if flow_runs is None else [name for name in _CRITERIA if getattr(flow_runs, name) is not None]
    if not criteria:
        source = ALL_RUNS
    elif criteria == ["expected_start_time"] and (window := _window(flow_runs)) is not None:
        source = window
    else:
        return None
    pks, sk_gte, sk_lte = list(source.pks), source.sk_gte, source.sk_lte
    anchors = flow_run_index.anchors_only()
    tally = store.count_shards(pks, index=source.index, where=anchors, sk_gte=sk_gte, sk_lte=sk_lte)
    if tally.matched == tally.read:
        return tally.matched
    entries = store.query_shards(pks, index=source.index, attributes=["PK"], sk_gte=sk_gte, sk_lte=sk_lte)
    return len({entry.PK for entry in entries})


# The FlowRunFilter fields that are criteria (`operator` only combines them).
_CRITERIA = tuple(name for name in FlowRunFilter.model_fields if name != "operator")
