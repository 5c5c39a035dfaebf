"""Task runs in the table.

Access patterns (keys):
- read by id ................... PK=TASK_RUN#<id>, SK=#META (body = TaskRun JSON with its state;
                                 `state_id` / `state_timestamp` attributes guard conditional writes);
                                 else a keyed run: its page of run ids (task_run_ids.py), then its place
- keyed runs ................... a run the recorder creates with a flow run and a UUIDv7 id (runs kept
                                 forever) is stored AT its natural key, where its guard would be
                                 (task_run_keys.py): one item for run and guard; `_Place` says where a
                                 run's item is and what its rewrites carry over
- natural-key uniqueness ....... the guard (task_run_keys.py): PK=TASK_RUN_KEYS#<flow_run_id>,
                                 SK=<digest of task_key, dynamic_key>, body {"id"}; runs without a flow
                                 run, and runs stored before, PK=TASK_RUN_KEY#<sha256(...)>, SK=#META.
                                 POST /task_runs/ writes it in the same transaction as a new run, the
                                 event recorder with a put_new just before the run; both upsert on it
                                 (flow_run_id may be null: REST creates still upsert on it).
                                 The recorder's guard of a run it creates also holds the states of the
                                 run in that batch (task_run_keys.py: no history group for them)
- by flow run .................. the guards in the flow run's partition (one Query: ids), then the runs
                                 (BatchGetItem); runs with a legacy guard (no flow run, or stored before)
                                 carry GSI1PK=TASK_RUNS_OF#<flow_run_id|none>, GSI1SK=<id> instead, and
                                 keep it on every rewrite (its presence tells a stored run's guard key)
- by state type ................ GSI3PK=TASK_RUNS_IN#<state_type>#<shard>, GSI3SK=<id>, for every run
                                 with a state except a started terminal one (below: its started key
                                 lists it by state type too, so it pays one index copy, not two);
                                 a terminal type's readers add its started keys, without SK bounds
- all task runs ................ the by-state keys of every state type and the started keys of the
                                 terminal types, and GSI2PK=TASK_RUNS#<shard>, GSI2SK=<id> (sparse:
                                 only runs without a state, and runs stored before a run with a state
                                 left GSI2, until their next write)
- started, by start time ....... GSI4PK=TASK_RUNS_STARTED#<terminal state type>#<shard> (COMPLETED,
                                 FAILED, CRASHED, CANCELLED) or TASK_RUNS_STARTED#ACTIVE#<shard> (any
                                 other), GSI4SK=<sortable start_time>#<id>; sparse: only runs with a
                                 start_time. `start_time` windows read only the runs started in them
                                 (the dashboard's terminal-only charts read only the terminal types'
                                 keys its state hint allows). Runs stored before the per-type keys are
                                 under TASK_RUNS_STARTED#TERMINAL#<shard> and their state's by-state
                                 key until their next write: window readers query that family too
- state history ................ see task_run_states.py (same partition as the run)
<shard> = crc32(id) % the family's shard count (keys.sharded; see ALL_RUNS_SHARDS): every task run
writes these keys. A read queries every shard and the unsharded key of runs stored before the
sharding (keys.shards_and_legacy), concurrently, merged in sort-key order (store.query_shards).
No Scan: `candidates` picks the narrowest of id / flow run / start-time window / state type / all
from the filter; task_runs_filter.py evaluates the rest of the filter in Python.

Writes:
- set_state: orchestrate, then ONE TransactWrite (run + new state) conditioned on the
  run's current state_id; a lost race re-reads and re-orchestrates.
- events (recorder) and subflow copies: conditional put
  `attribute_not_exists(PK) OR attribute_not_exists(state_timestamp) OR state_timestamp < :new`
  so the newest state wins regardless of arrival order, and replays are no-ops.
  The recorder works a batch of events at once (`record_many`): one BatchGetItem reads the
  runs (and legacy guards, in flow runs that have runs stored before) of 100 keys; new runs take a
  guard put_new, then the run's conditional put (no transaction: the guard first, so a replay
  repairs a stop between the two), sent concurrently.
  The guard of a new run holds the batch's states of the run (task_run_keys.py); other runs' states
  go to history groups (task_run_states.record_many).
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterable
from typing import Any, NamedTuple
from uuid import UUID

from pynamodb.expressions.condition import Condition

from shared.orchestration import OrchestrationOutcome, orchestrate_task_run
from shared.schemas.concurrency_limits import ConcurrencyLeaseHolder
from shared.schemas.filters.base import Operator
from shared.schemas.filters.runs import TaskRunFilter
from shared.schemas.states import TERMINAL_STATES, State, StateCreate, StateType
from shared.schemas.task_runs import TaskRun, TaskRunCreate, TaskRunUpdate
from shared.schemas.types import now_utc
from shared.storage import concurrency_slots, observed_states, store, task_queue, task_run_ids, task_run_keys
from shared.storage import events as event_store
from shared.storage import flow_runs as flow_run_store
from shared.storage import task_run_states as state_store
from shared.storage.errors import ConcurrentUpdate, ObjectAlreadyExists, ObjectNotFound, RunNotFound
from shared.storage.keys import all_shards, decode, key, sharded, shards_and_legacy, sortable_time
from shared.storage.retention import run_expiry, run_retention
from shared.storage.table import TableItem

ENTITY = task_run_keys.RUN_ENTITY
ALL_RUNS = "TASK_RUNS"
NO_FLOW_RUN = "none"
# Write shards per key family (keys.sharded), sized from the index writes each takes per task run
# so that at 10,000 task runs/s no key takes DynamoDB's 1,000 WCU/s: TASK_RUNS (GSI2) took every
# write of every run (3 per run: 750 per key over 40; today only runs without a state write it, and
# readers still query the 40 shards for the runs written before); a by-state key
# takes a put when a run enters the state and a delete when it leaves (<= 2: 833 over 24); the
# started keys a put at start and a delete at the end (ACTIVE, 2: 833 over 24) or one put (a terminal
# type's, 1: 833 over 12 even if every run ended in that type). Readers query every shard, so fewer
# shards are fewer Queries per read (the UI's task-run counts read the started keys). Part of the
# stored keys: changing a count hides runs written under the old one from the readers.
ALL_RUNS_SHARDS = 40
STATE_SHARDS = 24
ACTIVE_SHARDS = 24
TERMINAL_SHARDS = 12
# The started keys' kinds: runs in a state that is not terminal share ACTIVE; a terminal run has its
# state type's own key, which is its by-state copy too. TERMINAL is the one terminal kind runs stored
# before the per-type keys have (read, never written).
ACTIVE = "ACTIVE"
LEGACY_TERMINAL = "TERMINAL"
TERMINAL_KINDS: tuple[StateType, ...] = tuple(t for t in StateType if t in TERMINAL_STATES)
# Lost races are retried this many times before the caller sees ConcurrentUpdate (503).
WRITE_ATTEMPTS = 8


# --- keys ----------------------------------------------------------------------------


def _run_key(task_run_id: UUID | str) -> str:
    return state_store.run_key(task_run_id)


def _new_guard_key(run: TaskRun) -> task_run_keys.GuardKey:
    return task_run_keys.new_key(run.flow_run_id, run.task_key, run.dynamic_key)


def _listed_by_index(run: TaskRun, stored: TableItem | None) -> bool:
    """Whether the run is listed among its flow run's task runs by its GSI1 copy (its guard is a legacy one),
    rather than by its guard in the flow run's partition: runs without a flow run, and runs stored so."""
    if stored is not None:
        return task_run_keys.listed_by_index(stored)
    return run.flow_run_id is None


def _by_flow_run_key(flow_run_id: UUID | None) -> str:
    return key("TASK_RUNS_OF", flow_run_id or NO_FLOW_RUN)


def _by_state_key(state_type: StateType | str) -> str:
    value = state_type.value if isinstance(state_type, StateType) else state_type
    return key("TASK_RUNS_IN", value)


def _started_key(kind: StateType | str) -> str:
    """ACTIVE, a terminal state type, or LEGACY_TERMINAL."""
    return key("TASK_RUNS_STARTED", kind.value if isinstance(kind, StateType) else kind)


def _started_shards(kind: StateType | str) -> int:
    return ACTIVE_SHARDS if kind == ACTIVE else TERMINAL_SHARDS


def _started_kind(run: TaskRun) -> StateType | str:
    return run.state_type if run.state_type in TERMINAL_STATES else ACTIVE


class _Place(NamedTuple):
    """Where a run's item is written, and what a rewrite carries over: keyed by id (PK=TASK_RUN#<id>), with the
    by-flow-run index copy or not (`_listed_by_index`), or keyed at its natural key (task_run_keys.py), with the
    states its creating batch held and its subflow mark (attributes no writer of the run changes)."""

    pk: str
    sk: str
    listed_by_index: bool = False
    keyed: bool = False
    held: str | None = None
    child_flow_run_id: str | None = None


def _by_id(task_run_id: UUID, listed_by_index: bool) -> _Place:
    return _Place(_run_key(task_run_id), store.META, listed_by_index)


def _place_of(run: TaskRun, stored: TableItem | None) -> _Place:
    """Where a rewrite of a stored run goes: where it is."""
    if stored is not None and task_run_keys.is_keyed_run(stored):
        return _Place(stored.PK, stored.SK, keyed=True, held=stored.held, child_flow_run_id=stored.child_flow_run_id)
    return _by_id(run.id, _listed_by_index(run, stored))


def _keyed_place(run: TaskRun, held: str | None = None) -> _Place:
    """A new keyed run's place: its natural key in its flow run's partition."""
    at = _new_guard_key(run)
    return _Place(at.pk, at.sk, keyed=True, held=held)


def _rewrite_condition(place: _Place) -> Condition | None:
    """A keyed run's subflow mark is set by an UpdateItem (`mark_subflow_parent`) that a rewrite from an
    earlier read would undo: the rewrite holds only while the mark is as read (a writer that loses re-reads)."""
    if not place.keyed:
        return None
    if place.child_flow_run_id is None:
        absent: Condition = TableItem.child_flow_run_id.does_not_exist()
        return absent
    same: Condition = TableItem.child_flow_run_id == place.child_flow_run_id
    return same


def _and(condition: Condition, place: _Place) -> Condition:
    extra = _rewrite_condition(place)
    return condition if extra is None else condition & extra


def _to_item(run: TaskRun, place: _Place) -> TableItem:
    """The run's item at `place`."""
    item = TableItem(
        place.pk,
        place.sk,
        entity=ENTITY,
        body=run.model_dump_json(),
        state_id=str(run.state.id) if run.state else None,
        state_timestamp=sortable_time(run.state.timestamp) if run.state else None,
        expires_at=run_expiry(run.state),
        held=place.held,
        child_flow_run_id=place.child_flow_run_id,
    )
    if place.listed_by_index:
        item.GSI1PK = _by_flow_run_key(run.flow_run_id)
        item.GSI1SK = str(run.id)
    # A started run in a terminal state (most runs, once they end) is listed by its state type through
    # its started key (one per terminal type), so it pays one index copy, not a by-state one as well.
    by_start_only = run.start_time is not None and run.state_type in TERMINAL_STATES
    if run.state_type is None:
        # Every run is in exactly one of the by-state, the terminal started or the all-runs keys: a run with
        # a state is listed among all runs through those, so it pays no all-runs copy (1 WRU each write).
        item.GSI2PK = sharded(ALL_RUNS, run.id, ALL_RUNS_SHARDS)
        item.GSI2SK = str(run.id)
    elif not by_start_only:
        item.GSI3PK = sharded(_by_state_key(run.state_type), run.id, STATE_SHARDS)
        item.GSI3SK = str(run.id)
    if run.start_time is not None:
        # Ended runs apart from the others: a window of ended runs reads only those.
        kind = _started_kind(run)
        item.GSI4PK = sharded(_started_key(kind), run.id, _started_shards(kind))
        item.GSI4SK = f"{sortable_time(run.start_time)}#{run.id}"
    return item


def _guard(run: TaskRun, guard_key: task_run_keys.GuardKey | None = None) -> TableItem:
    """The guard naming `run`, under `guard_key` (default: where a new run's goes)."""
    return task_run_keys.guard_item(guard_key or _new_guard_key(run), run.id)


def _newer_than_stored(state: State) -> Condition:
    """Write only over an older (or no) state: newest timestamp wins."""
    condition: Condition = (
        TableItem.PK.does_not_exist()
        | TableItem.state_timestamp.does_not_exist()
        | (TableItem.state_timestamp < sortable_time(state.timestamp))
    )
    return condition


def _state_unchanged(run: TaskRun) -> Condition:
    if run.state_id is None:
        absent: Condition = TableItem.PK.exists() & TableItem.state_id.does_not_exist()
        return absent
    same: Condition = TableItem.state_id == str(run.state_id)
    return same


# --- reads ---------------------------------------------------------------------------


def _stored(task_run_id: UUID) -> TableItem | None:
    """A run's item, consistent: keyed by its id (one GetItem), else a keyed run (its page of run ids, then
    the place it names: task_run_keys.keyed_items)."""
    item = store.get(_run_key(task_run_id))
    if item is not None:
        return item
    return task_run_keys.keyed_items([task_run_id]).get(task_run_id)


def read(task_run_id: UUID) -> TaskRun | None:
    item = _stored(task_run_id)
    return decode(item, TaskRun) if item else None


def read_or_404(task_run_id: UUID, message: str = "Task not found") -> TaskRun:
    run = read(task_run_id)
    if run is None:
        raise ObjectNotFound(message)
    return run


def read_many(task_run_ids: Iterable[UUID]) -> list[TaskRun]:
    """Runs by id: one BatchGetItem of the runs keyed by id, then the keyed runs among the others."""
    wanted = list(dict.fromkeys(task_run_ids))
    runs = [decode(item, TaskRun) for item in store.batch_get((_run_key(i), store.META) for i in wanted)]
    found = {run.id for run in runs}
    keyed = task_run_keys.keyed_items(i for i in wanted if i not in found)
    return runs + [decode(item, TaskRun) for item in keyed.values()]


class Holder(NamedTuple):
    """The run a natural key names, where its guard is, and the item there (a guard, or the keyed run)."""

    task_run_id: UUID
    guard_key: task_run_keys.GuardKey
    item: TableItem


def holder_of_natural_key(flow_run_id: UUID | None, task_key: str, dynamic_key: str) -> Holder | None:
    """Which run holds a natural key: its guard under either key (task_run_keys.lookup_keys), one BatchGetItem."""
    guard_keys = task_run_keys.lookup_keys(flow_run_id, task_key, dynamic_key)
    found = {(item.PK, item.SK): item for item in store.batch_get((g.pk, g.sk) for g in guard_keys)}
    for guard_key in guard_keys:
        item = found.get(guard_key)
        named = task_run_keys.named_id(item)
        if item is not None and named is not None:
            return Holder(named, guard_key, item)
    return None


def read_by_natural_key(flow_run_id: UUID | None, task_key: str, dynamic_key: str) -> TaskRun | None:
    found = holder_of_natural_key(flow_run_id, task_key, dynamic_key)
    if found is None:
        return None
    return decode(found.item, TaskRun) if task_run_keys.is_keyed_run(found.item) else read(found.task_run_id)


def _named(task_run_ids: list[UUID]) -> list[TableItem]:
    """The stored items of the runs a flow run's guards name: eventually consistent, as the index copies the
    guards replace were (half the read units)."""
    return store.batch_get(((_run_key(i), store.META) for i in task_run_ids), consistent=False)


def _runs_in_partition(flow_run_id: UUID, *, subflow_parents: bool = True) -> list[tuple[TaskRun, TableItem]]:
    """The runs of a flow run's partition, each decoded once with its item: its keyed runs, and the runs its
    guards name (one BatchGetItem). Each id once, its newest state (a keyed run whose natural key changed is at
    two places)."""
    items = task_run_keys.items_in_flow_run(flow_run_id, subflow_parents=subflow_parents)
    keyed = [item for item in items if task_run_keys.is_keyed_run(item)]
    guarded = [task_run_keys.named_id(item) for item in items if not task_run_keys.is_keyed_run(item)]
    newest: dict[UUID, tuple[TaskRun, TableItem]] = {}
    for item in [*keyed, *_named([i for i in guarded if i is not None])]:
        run = decode(item, TaskRun)
        known = newest.get(run.id)
        if known is None or (item.state_timestamp or "") > (known[1].state_timestamp or ""):
            newest[run.id] = (run, item)
    return list(newest.values())


def _listed(flow_run_id: UUID | None) -> list[tuple[TaskRun, TableItem]]:
    """A flow run's task runs with their items, by id: its partition's keyed runs and those its guards name
    (runs whose flow run changed since are left out), and those listed by their GSI1 copy (task_run_keys.py)."""
    in_partition = _runs_in_partition(flow_run_id) if flow_run_id is not None else []
    listed = {run.id: (run, item) for run, item in in_partition if run.flow_run_id == flow_run_id}
    for item in store.query(_by_flow_run_key(flow_run_id), index="GSI1"):
        run = decode(item, TaskRun)
        listed.setdefault(run.id, (run, item))
    return [listed[task_run_id] for task_run_id in sorted(listed, key=str)]


def list_for_flow_run(flow_run_id: UUID | None) -> list[TaskRun]:
    """A flow run's task runs, by id (`_listed`)."""
    return [run for run, _ in _listed(flow_run_id)]


def count_for_flow_run(flow_run_id: UUID) -> int:
    """A flow run's task runs that stand for no subflow (the reference's count-task-runs): one COUNT Query of
    its guards leaving out those marked as a subflow's parent (`mark_subflow_parent`; with a run retention, the
    unmarked guards' runs still stored), and the runs stored before with their GSI1 copy, counted from their
    state (its child_flow_run_id), as before the marks."""
    if run_retention() is None:
        # Runs are kept forever: every guard's run is stored.
        partition = task_run_keys.flow_run_partition(flow_run_id)
        guarded = store.count(partition, where=TableItem.child_flow_run_id.does_not_exist()).matched
    else:
        # Runs expire (TTL), their guards do not (task_run_keys.py): count the runs still stored.
        guarded = len(_runs_in_partition(flow_run_id, subflow_parents=False))
    legacy = (decode(item, TaskRun) for item in store.query(_by_flow_run_key(flow_run_id), index="GSI1"))
    return guarded + sum(1 for run in legacy if run.state is None or run.state.state_details.child_flow_run_id is None)


def mark_subflow_parent(task_run_id: UUID, child_flow_run_id: UUID) -> None:
    """Mark the guard of the task run a subflow was created under (its flow run's parent_task_run_id): one
    GetItem of the run (its natural key), one UpdateItem of the guard (of a keyed run: of the run itself, whose
    writers then re-read: `_rewrite_condition`). Nothing when the run or guard is gone."""
    stored = _stored(task_run_id)
    if stored is None:
        return
    run = decode(stored, TaskRun)
    guard = task_run_keys.of_stored_run(run, stored)
    item = TableItem(guard.pk, guard.sk)
    try:
        store.update(item, [TableItem.child_flow_run_id.set(str(child_flow_run_id))], condition=TableItem.PK.exists())
    except ConcurrentUpdate:
        pass  # the guard is gone: its run was deleted meanwhile


# --- filtering -----------------------------------------------------------------------


def _start_window(task_runs: TaskRunFilter | None) -> tuple[datetime.datetime | None, datetime.datetime | None] | None:
    """The start_time bounds every match lies within (None: the filter does not bound start_time)."""
    if task_runs is None or task_runs.start_time is None or task_runs.operator != Operator.and_:
        return None
    after, before = task_runs.start_time.after_, task_runs.start_time.before_
    return None if after is None and before is None else (after, before)


def started_between(
    after: datetime.datetime | None, before: datetime.datetime | None, state_types: Iterable[Any] | None = None
) -> list[TaskRun]:
    """Task runs that started in [after, before] (inclusive), through GSI4, reading only the started keys of
    the state types `state_types` allows (all without it)."""
    items = store.query_shards(
        _started_partitions(_state_types(state_types)),
        index="GSI4",
        sk_gte=sortable_time(after) if after is not None else None,
        # "~" sorts after the "#<id>" suffix, so runs started exactly at `before` are included.
        sk_lte=f"{sortable_time(before)}~" if before is not None else None,
    )
    return _distinct_runs(items)


def _state_types(values: Iterable[Any] | None) -> list[StateType]:
    """The state types a hint allows, in a stable order (every type without a hint)."""
    allowed = None if values is None else {StateType(v) for v in values}
    return [t for t in StateType if allowed is None or t in allowed]


def _started_partitions(types: list[StateType]) -> list[str]:
    """Every started key (all shards) of runs in `types`: each terminal type's own, and the legacy TERMINAL
    family of terminal runs stored before the per-type keys (its runs may be in any terminal type); ACTIVE
    for the other types."""
    pks = [pk for t in types if t in TERMINAL_STATES for pk in all_shards(_started_key(t), TERMINAL_SHARDS)]
    if any(t in TERMINAL_STATES for t in types):
        pks += shards_and_legacy(_started_key(LEGACY_TERMINAL), TERMINAL_SHARDS)
    if any(t not in TERMINAL_STATES for t in types):
        pks += shards_and_legacy(_started_key(ACTIVE), ACTIVE_SHARDS)
    return pks


def _in_states(types: list[StateType]) -> list[TableItem]:
    """Every run in one of `types`: their by-state keys (GSI3), and for the terminal ones their own started
    keys, whole (GSI4: the started runs there have no by-state copy). Runs stored before the per-type keys
    are in their by-state key, so the legacy TERMINAL family is not read."""
    by_state = [pk for t in types for pk in shards_and_legacy(_by_state_key(t), STATE_SHARDS)]
    started = [pk for t in types if t in TERMINAL_STATES for pk in all_shards(_started_key(t), TERMINAL_SHARDS)]
    return [*store.query_shards(by_state, index="GSI3"), *store.query_shards(started, index="GSI4")]


def _distinct_runs(items: Iterable[TableItem]) -> list[TaskRun]:
    """Each run once: a run whose index key just changed (it ended, or it was rewritten for the first
    time since the keys were sharded) may briefly be under both keys (GSIs are eventually consistent)."""
    found: dict[UUID, TaskRun] = {}
    for run in store.readable(items, lambda item: decode(item, TaskRun)):
        found.setdefault(run.id, run)
    return list(found.values())


def candidates(
    hints: dict[str, list[Any]], flow_run_ids: set[UUID] | None, task_runs: TaskRunFilter | None = None
) -> list[TaskRun]:
    """The narrowest read that contains every match."""
    if "id" in hints:
        return read_many(UUID(str(v)) for v in dict.fromkeys(hints["id"]))
    by_flow_run = hints.get("flow_run_id")
    if by_flow_run is not None:
        ids = [UUID(str(v)) for v in dict.fromkeys(by_flow_run)]
        if flow_run_ids is not None:
            ids = [i for i in ids if i in flow_run_ids]
        return _listed_for(ids)
    if flow_run_ids is not None:
        return _listed_for(flow_run_ids)
    window = _start_window(task_runs)
    if window is not None:
        return started_between(*window, state_types=hints.get("state_type"))
    if "state_type" in hints:
        return _distinct_runs(_in_states(_state_types(hints["state_type"])))
    return _distinct_runs([*_in_states(_state_types(None)), *_without_state()])


def _listed_for(flow_run_ids: Iterable[UUID]) -> list[TaskRun]:
    """The task runs of these flow runs, each flow run's read on the scatter pool."""
    found = store.map_concurrently(list_for_flow_run, flow_run_ids)
    return [run for runs in found.values() for run in runs]


def _without_state() -> list[TableItem]:
    """The all-runs key (GSI2): runs without a state, and runs stored before runs with a state left it (they
    are in their state's key too; `_distinct_runs` keeps each once) until their next write."""
    return list(store.query_shards(shards_and_legacy(ALL_RUNS, ALL_RUNS_SHARDS), index="GSI2"))


# --- REST create / update ------------------------------------------------------------


def _system_labels(run: TaskRun) -> dict[str, Any]:
    """Parent flow run labels | prefect.flow-run.id | client labels (as the reference)."""
    parent: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    if run.flow_run_id is not None:
        defaults["prefect.flow-run.id"] = str(run.flow_run_id)
        flow_run = flow_run_store.read(run.flow_run_id)
        parent = dict(flow_run.labels or {}) if flow_run is not None else {}
    return parent | defaults | dict(run.labels or {})


def create(create_body: TaskRunCreate) -> tuple[TaskRun, bool]:
    """Upsert on (flow_run_id, task_key, dynamic_key): (run, created)."""
    existing = read_by_natural_key(create_body.flow_run_id, create_body.task_key, create_body.dynamic_key)
    if existing is not None:
        return existing, False
    data = create_body.model_dump(exclude={"state"})
    if data.get("id") is None:
        data.pop("id", None)  # the server picks one
    stamp = now_utc()
    run = TaskRun(**data, created=stamp, updated=stamp)
    run.labels = _system_labels(run)
    proposed = create_body.state or StateCreate(type=StateType.PENDING)
    # The initial state is forced, like the reference (no rules, just bookkeeping).
    outcome = orchestrate_task_run(run, proposed, force=True, now=stamp)
    new_run = outcome.run
    assert outcome.state is not None
    batch = (
        store.WriteBatch()
        .put_new(_guard(new_run))
        .put_new(_to_item(new_run, _by_id(new_run.id, _listed_by_index(new_run, None))))
        .put_new(state_store.to_item(new_run.id, outcome.state))
    )
    _enqueue_if_deferred(batch, new_run, outcome.state)
    try:
        store.transact(batch, on_conflict=ObjectAlreadyExists)
    except ObjectAlreadyExists:
        # Another writer created the same natural key first: theirs wins.
        winner = read_by_natural_key(new_run.flow_run_id, new_run.task_key, new_run.dynamic_key)
        if winner is None:
            raise ObjectAlreadyExists(f"Task run {new_run.id} already exists") from None
        return winner, False
    observed_states.note([outcome.state])
    return new_run, True


def update(task_run_id: UUID, changes: TaskRunUpdate) -> TaskRun | None:
    """PATCH: only fields the client set; None if the run does not exist."""
    fields = changes.model_dump(exclude_unset=True)
    for _ in range(WRITE_ATTEMPTS):
        item = _stored(task_run_id)
        if item is None:
            return None
        run = decode(item, TaskRun)
        if not fields:
            return run
        updated = run.model_copy(update={**fields, "updated": now_utc()})
        place = _place_of(updated, item)
        try:
            store.put(_to_item(updated, place), condition=_and(TableItem.body == item.body, place))
        except ConcurrentUpdate:
            continue
        return updated
    raise ConcurrentUpdate(str(task_run_id))


# --- orchestrated state changes ------------------------------------------------------


def _enqueue_if_deferred(batch: store.WriteBatch, run: TaskRun, state: State) -> None:
    """A background task run (`task.delay()`, or its retry) entering SCHEDULED joins its task
    key's queue in the same transaction (the reference's EnqueueScheduledTasks rule)."""
    if state.type == StateType.SCHEDULED and state.state_details.deferred:
        batch.put(task_queue.to_item(run))


def _write_outcome(
    before: TaskRun,
    outcome: OrchestrationOutcome[TaskRun],
    place: _Place,
    slots: concurrency_slots.SlotSnapshot | None = None,
) -> None:
    assert outcome.state is not None
    after = outcome.run.model_copy(update={"updated": now_utc()})
    batch = (
        store.WriteBatch()
        .put(_to_item(after, place), _and(_state_unchanged(before), place))
        .put_new(state_store.to_item(outcome.run.id, outcome.state))
    )
    if slots is not None:
        # Tag concurrency slots are taken / given back with the state, atomically.
        holder = ConcurrencyLeaseHolder(type="task_run", id=before.id)
        concurrency_slots.add_changes(batch, slots, outcome.slot_changes, holder)
    _enqueue_if_deferred(batch, outcome.run, outcome.state)
    store.transact(batch)
    observed_states.note([outcome.state])


def set_state(task_run_id: UUID, proposed: StateCreate, *, force: bool = False) -> OrchestrationOutcome[TaskRun]:
    """POST /task_runs/{id}/set_state: the task policy, then one conditional transaction."""
    for _ in range(WRITE_ATTEMPTS):
        stored = _stored(task_run_id)
        if stored is None:
            raise RunNotFound(f"Task run with id {task_run_id} not found")
        run = decode(stored, TaskRun)
        flow_run = flow_run_store.read(run.flow_run_id) if run.flow_run_id else None
        # Tag limits: the rules decide on slot state read now; if another task run takes
        # the last slot before our write, the write fails and we decide again.
        slots = concurrency_slots.task_run_slots(run, proposed.type)
        outcome = orchestrate_task_run(run, proposed, force=force, flow_run=flow_run, slots=slots.state)
        if not outcome.write:
            return outcome
        try:
            _write_outcome(run, outcome, _place_of(run, stored), slots)
        except ConcurrentUpdate:
            continue  # someone changed the state meanwhile: decide again on the new one
        return outcome
    raise ConcurrentUpdate(str(task_run_id))


def copy_subflow_state(task_run_id: UUID, state: State) -> TaskRun | None:
    """Mirror a subflow's state on its parent task run; the newest state timestamp wins.

    Returns the updated run, or None if the run is gone or already has a newer state.
    """
    for _ in range(WRITE_ATTEMPTS):
        stored = _stored(task_run_id)
        if stored is None:
            return None
        run = decode(stored, TaskRun)
        if run.state is not None and run.state.timestamp >= state.timestamp:
            return None
        outcome = orchestrate_task_run(run, state, force=True, now=state.timestamp)
        if not outcome.write or outcome.state is None:
            return None
        new_run = outcome.run.model_copy(update={"updated": now_utc()})
        place = _place_of(new_run, stored)
        batch = (
            store.WriteBatch()
            .put(_to_item(new_run, place), _and(_newer_than_stored(outcome.state) & TableItem.PK.exists(), place))
            .put_new(state_store.to_item(new_run.id, outcome.state))
        )
        try:
            store.transact(batch)
        except ConcurrentUpdate:
            continue
        observed_states.note([outcome.state])
        return new_run
    raise ConcurrentUpdate(str(task_run_id))


# --- recorder upsert (events) --------------------------------------------------------
# The recorder writes single items under conditions, never a transaction (DynamoDB bills one at twice the
# units): a new run costs its guard (put_new, 1 WRU) and the run (put if newer, 1 WRU + its index copies).
# The two writes are not atomic, so their order carries the invariant: the guard goes FIRST and the run
# only once the guard stands, so a run never exists without its guard (the REST create writes both in one
# transaction). A recorder stopped between the two leaves a guard naming the event's id and no run; the
# stream re-delivers the failed batch, whose BatchGetItem finds the run absent: the new-run path, whose guard
# put_new fails, so `_record_one` finds the guard naming this very id and writes the run (a legacy guard is
# read with the run: the known-run path). Until the replay the natural key names an id without a run (a GET
# of the id is a 404, a REST create of the same key a 409, a listing of its flow run skips it): the window of
# one failed batch.
# The guard of a run the BatchGetItem found absent stays a conditional put_new rather than joining an
# unconditional BatchWriteItem (the same 1 WRU, only fewer calls): two writers racing on one natural key
# under different ids (two recorders, or a REST create) would each overwrite the other's guard and write
# their own run, two runs for one key; put_new lets exactly one win and sends the other through
# `_record_one`, which adopts the winner's id.
# Latency: two requests per new run where a TransactWriteItems carried 50 runs; on DynamoDB the pool sends 8
# at once, so a batch takes two rounds of ~N/8 single writes. The local emulator serves one request at a time
# (~3 ms each, HTTP and moto's dispatch, against ~0.4 ms per item inside one request): there the pool does not
# shorten a batch, and a 200-task flow's runs are all recorded ~1.3 s after it returns (0.1 s with the
# transaction; bench "sf recorded").


def _as_recorded(run: TaskRun, state: State, task_run_id: UUID, stored: TableItem | None) -> TaskRun:
    """The run as it is written: under `task_run_id` (the stored id on natural-key conflicts), carrying `state`,
    keeping the stored `created`."""
    canonical_state = state.model_copy(deep=True)
    canonical_state.state_details.task_run_id = task_run_id
    stamp = now_utc()
    created = decode(stored, TaskRun).created if stored is not None else stamp
    return run.model_copy(
        update={
            "id": task_run_id,
            "state": canonical_state,
            "state_id": canonical_state.id,
            "state_type": canonical_state.type,
            "state_name": canonical_state.name,
            "created": created or stamp,
            "updated": stamp,
        },
        deep=True,
    )


def _claim(run: TaskRun, holding: TableItem | None = None) -> bool:
    """Write the run's natural-key guard where a new run's goes (one conditional put_new), `holding` states of it
    if given; False if another writer holds the key there."""
    return store.put_if_absent(holding or _guard(run))


def _keep_held_history(stored: TableItem | None, run: TaskRun) -> None:
    """Before a stored run is rewritten under another natural key (an event changed its task or dynamic key:
    no prefect client does), copy the states its first guard holds into a history group: readers find a
    guard through the run's current key only."""
    if stored is None:
        return
    before = decode(stored, TaskRun)
    if (before.flow_run_id, before.task_key, before.dynamic_key) == (run.flow_run_id, run.task_key, run.dynamic_key):
        return
    held = state_store.guard_held(stored)
    if held:
        state_store.record_many((run.id, state) for state in held)


def _put_if_newer(run: TaskRun, place: _Place) -> None:
    """Write the run (one conditional put) unless the stored one holds an equal or newer state: then only its
    history is written (the caller's). A keyed run whose subflow mark changed since it was read is read again
    and written again (`_rewrite_condition`)."""
    assert run.state is not None
    for _ in range(WRITE_ATTEMPTS):
        try:
            store.put(_to_item(run, place), condition=_and(_newer_than_stored(run.state), place))
            return
        except ConcurrentUpdate:
            if not place.keyed:
                return  # a newer state is stored
        stored = store.get(place.pk, place.sk)
        if stored is None or not task_run_keys.is_keyed_run(stored) or task_run_keys.named_id(stored) != run.id:
            return  # deleted meanwhile (its natural key may be another run's now)
        if stored.state_timestamp and stored.state_timestamp >= sortable_time(run.state.timestamp):
            return
        place = _place_of(run, stored)
    raise ConcurrentUpdate(str(run.id))


def _forget_place(stored: TableItem) -> None:
    """Delete a keyed run's item at the natural key it left (the run is keyed by id now: `_record_one`)."""
    try:
        store.delete(TableItem(stored.PK, stored.SK), condition=TableItem.body == stored.body)
    except ConcurrentUpdate:
        pass  # rewritten or deleted meanwhile


def _record_one(run: TaskRun, state: State) -> TaskRun:
    """`record_many` for one run the batched path could not settle: resolves the id, reads and writes one at a
    time and retries lost races. An unclaimed natural key is claimed before the run is written (see above),
    which also repairs a run stored without its guard. A keyed run is rewritten where it is, unless the event
    moved it to another natural key (no prefect client does): it is then keyed by id, under a guard of its new
    key, and its old place is deleted."""
    for _ in range(WRITE_ATTEMPTS):
        task_run_id = run.id
        unclaimed = False
        listed_by_index = run.flow_run_id is None
        stored: TableItem | None = None
        if run.flow_run_id is not None:
            holder = holder_of_natural_key(run.flow_run_id, run.task_key, run.dynamic_key)
            if holder is None:
                unclaimed = True
            else:
                task_run_id = holder.task_run_id
                listed_by_index = holder.guard_key != _new_guard_key(run)
                if task_run_keys.is_keyed_run(holder.item):
                    stored = holder.item
        if stored is None:
            stored = _stored(task_run_id)
        canonical = _as_recorded(run, state, task_run_id, stored)
        moved = (
            task_run_keys.is_keyed_run(stored)
            and stored is not None
            and (_new_guard_key(canonical)) != (stored.PK, stored.SK)
        )
        place = (
            _place_of(canonical, stored) if stored is not None and not moved else _by_id(task_run_id, listed_by_index)
        )
        if unclaimed and not _claim(canonical):
            continue  # another writer claimed the natural key meanwhile: re-resolve the id
        _keep_held_history(stored, canonical)
        _put_if_newer(canonical, place)
        if moved and stored is not None:
            _forget_place(stored)
        return canonical
    raise ConcurrentUpdate(str(run.id))


def _has_legacy_runs(flow_run_id: UUID) -> bool:
    """Whether a flow run has a task run with a legacy guard: only those carry a GSI1 key under a flow run."""
    return next(store.query(_by_flow_run_key(flow_run_id), index="GSI1", limit=1, attributes=["PK"]), None) is not None


def _flow_runs_with_legacy_runs(flow_run_ids: set[UUID]) -> set[UUID]:
    """The flow runs whose task runs' natural keys may be held by a legacy guard (task_run_keys.py): those with
    a task run stored before the guards moved. One Query of one entry per flow run, concurrently, in place of a
    legacy-guard read per task run."""
    return {fid for fid, has in store.map_concurrently(_has_legacy_runs, flow_run_ids).items() if has}


class Recorded(NamedTuple):
    """What `record_many` wrote: the runs as keyed (canonical ids), in order; and for each run whose guard (or
    keyed item) holds states of it, where and which (task_run_states.record_many writes no group for those)."""

    runs: list[TaskRun]
    held: dict[UUID, task_run_keys.Held]


def _holding(run: TaskRun, states: list[State]) -> TableItem | None:
    """The guard of a run the batch creates, holding the batch's `states` of it, if the guard may hold them."""
    if not states or not task_run_keys.holds_history():
        return None
    return task_run_keys.holding_item(_new_guard_key(run), run.id, states)


def _new_keyed(run: TaskRun, states: list[State]) -> tuple[TableItem, bool]:
    """A new keyed run's item, holding the batch's `states` of it when the item still fits one write unit
    (task_run_keys.MAX_HELD_ITEM_BYTES; else its states go to a history group); and whether it holds them."""
    if states:
        item = _to_item(run, _keyed_place(run, task_run_keys.held_text(states)))
        if store.item_size(item) <= task_run_keys.MAX_HELD_ITEM_BYTES:
            return item, True
    return _to_item(run, _keyed_place(run)), False


def _id_row(run: TaskRun) -> task_run_ids.Row:
    return task_run_ids.Row(str(run.id), str(run.flow_run_id), _new_guard_key(run).sk)


def record_many(newest: list[tuple[TaskRun, State]], history: list[list[State]] | None = None) -> Recorded:
    """Upsert task runs rebuilt from client events, each with its newest state in the batch; returns them as
    keyed (canonical ids), in order. The state history is the caller's (task_run_states.record_many), except
    that a run this batch creates holds `history[i]` (the batch's states of newest[i]'s run) when they fit, on
    its keyed item or its guard (task_run_keys.py): `Recorded.held` says which, with the states the items of
    known runs (read anyway) hold already, so that a replayed batch writes no group of them.

    Natural-key conflicts adopt the stored id (as the reference rewrites the event's id), and an older state
    never overwrites a newer one (conditional writes), whatever the order or number of deliveries.

    A new run with a flow run and a UUIDv7 id is keyed (task_run_keys.may_key): stored at its natural key in its
    flow run's partition, one item for run and guard, found by id through the batch's pages of run ids.

    Cost for a batch of N runs: one Query of one GSI1 entry per flow run (does it have task runs stored before
    the guards moved to their flow run's partition?), then one BatchGetItem per 100 keys, eventually consistent:
    for a run with a flow run, its natural key's place in the flow run's partition (a keyed run, or the guard of
    a run keyed by id), and in a flow run with runs stored before, the legacy guard of its natural key (only such
    a run can have one, and it must be found so that no second run takes its key); the run keyed by its id
    for runs that cannot be keyed (no flow run, other ids, a run retention). Only a run the batch's first read
    found a guard of is read by id (a second BatchGetItem): a run keyed by id with a flow run always has one.
    A new run costs 0.5 RRU of reads (its empty place).
    Then, no transaction, single-item conditional writes sent concurrently (store.concurrently) in two rounds:
    the pages of the new keyed runs' ids (BatchWriteItem, before them), the keyed runs' put_new (1 WRU each with
    their index copies: the run IS its guard) and the guards of other new runs (put_new, 1 WRU each); then the
    runs keyed by id, new and known, and the known keyed runs, with a newer state (put if newer, 1 WRU each +
    index copies); a run whose stored state is as new or newer is not written. Whatever the batch cannot settle
    (an adopted id, a place another writer or an earlier delivery of the batch holds, a run stored without its
    guard, a natural key twice in the batch) goes through `_record_one`, which retries lost races.
    """
    with_legacy = _flow_runs_with_legacy_runs({run.flow_run_id for run, _ in newest if run.flow_run_id})
    # The legacy guard each run's natural key may have (only in those flow runs), computed once.
    legacy_keys = {
        index: task_run_keys.legacy_key(run.flow_run_id, run.task_key, run.dynamic_key)
        for index, (run, _) in enumerate(newest)
        if run.flow_run_id in with_legacy
    }
    places = {index: _new_guard_key(run) for index, (run, _) in enumerate(newest) if run.flow_run_id is not None}
    keyable = {index for index, (run, _) in enumerate(newest) if task_run_keys.may_key(run.id, run.flow_run_id)}
    by_id = {index: (_run_key(run.id), store.META) for index, (run, _) in enumerate(newest)}
    keys: list[tuple[str, str]] = list(places.values())
    keys += [by_id[index] for index in by_id if index not in keyable]
    keys += legacy_keys.values()
    # Eventually consistent (half the units): every decision taken on these reads is a conditional write's,
    # which re-decides on a stale read through `_record_one` (consistent reads): a run read as absent that is
    # stored takes the new-run path, whose put_new then fails.
    found = {(item.PK, item.SK): item for item in store.batch_get(keys, consistent=False)}
    # Runs that can be keyed but have a guard (a run keyed by id: created over REST, or before keyed runs): the
    # run, in a second BatchGetItem.
    guarded = [
        by_id[index]
        for index in keyable
        if legacy_keys.get(index) in found
        or ((at := found.get(places[index])) is not None and not task_run_keys.is_keyed_run(at))
    ]
    found.update({(item.PK, item.SK): item for item in store.batch_get(guarded, consistent=False)})

    recorded: dict[int, TaskRun] = {}
    one_by_one: list[int] = []
    new_runs: list[tuple[int, TaskRun]] = []
    known_runs: list[tuple[int, TaskRun, _Place]] = []
    held: dict[UUID, task_run_keys.Held] = {}
    seen: set[tuple[str, str]] = set()
    for index, (run, state) in enumerate(newest):
        run_key = by_id[index]
        at_place = found.get(places[index]) if index in places else None
        stored = at_place if task_run_keys.is_keyed_run(at_place) else found.get(run_key)
        guard_key: task_run_keys.GuardKey | None = None
        listed_by_index = True  # no flow run: no guard, listed by GSI1 (TASK_RUNS_OF#none)
        if run.flow_run_id is not None:
            legacy = legacy_keys.get(index)
            # A run stored before (or its guard, if its run's write was lost) stays keyed as it was.
            listed_by_index = legacy in found or (stored is not None and _listed_by_index(run, stored))
            if listed_by_index:
                guard_key = legacy or task_run_keys.legacy_key(run.flow_run_id, run.task_key, run.dynamic_key)
            else:
                guard_key = _new_guard_key(run)
        guard = found.get(guard_key) if guard_key else None
        if guard_key is not None and guard is not None and task_run_keys.named_id(guard) != run.id:
            one_by_one.append(index)  # the natural key names another run: adopt its id
            continue
        if run_key in seen or (guard_key is not None and guard_key in seen):
            one_by_one.append(index)
            continue
        seen.update(k for k in (run_key, guard_key) if k)
        on_guard = task_run_keys.held_states(guard, run.id)
        if guard_key is not None and on_guard:
            # A replay (or a later batch) of a run whose guard or keyed item holds states: not written again.
            held[run.id] = task_run_keys.Held(guard_key.where, frozenset(s.id for s in on_guard))
        canonical = _as_recorded(run, state, run.id, stored)
        if guard_key is not None and guard is None:
            if stored is not None:
                one_by_one.append(index)  # a run without its guard: the single path repairs it
                continue
            # A new run: its put_new below (the keyed run's, or its guard's) says whether the key is free in the
            # flow run's partition (no legacy guard holds it: it was read).
            new_runs.append((index, canonical))
        elif stored is not None and stored.state_timestamp and stored.state_timestamp >= sortable_time(state.timestamp):
            recorded[index] = canonical  # an equal or newer state is stored already: only history is written
        else:
            # Known runs, and a guard with this id whose run is absent (a recorder stopped between its two
            # writes; this is the replay): the conditional put writes it.
            place = _place_of(canonical, stored) if stored is not None else _by_id(run.id, listed_by_index)
            known_runs.append((index, canonical, place))

    batch_states = history or [[] for _ in newest]
    keyed_new = [(index, run) for index, run in new_runs if index in keyable]
    guarded_new = [(index, run) for index, run in new_runs if index not in keyable]
    # A keyed run's row in its page of run ids goes first: a stored keyed run is always found by id.
    store.batch_put(task_run_ids.pages(_id_row(run) for _, run in keyed_new))
    keyed_items = [_new_keyed(run, batch_states[index]) for index, run in keyed_new]
    holding = [_holding(run, batch_states[index]) for index, run in guarded_new]
    # Round one: keyed runs (each its own claim) and the guards of runs keyed by id, then those runs.
    claimed = store.concurrently(
        [
            *(functools.partial(store.put_if_absent, item) for item, _ in keyed_items),
            *(functools.partial(_claim, run, guard) for (_, run), guard in zip(guarded_new, holding, strict=True)),
        ]
    )
    for (index, run), (item, holds), won in zip(keyed_new, keyed_items, claimed, strict=False):
        if won:
            recorded[index] = run
            if holds:
                where = task_run_keys.GuardKey(item.PK, item.SK).where
                held[run.id] = task_run_keys.Held(where, frozenset(s.id for s in batch_states[index]))
        else:
            # The key is held: by another writer's run (adopt its id), or by this run from an earlier delivery.
            one_by_one.append(index)
    writes = list(known_runs)
    for (index, run), guard, won in zip(guarded_new, holding, claimed[len(keyed_new) :], strict=True):
        if won:
            writes.append((index, run, _by_id(run.id, False)))
            if guard is not None:
                where = task_run_keys.GuardKey(guard.PK, guard.SK).where
                held[run.id] = task_run_keys.Held(where, frozenset(s.id for s in batch_states[index]))
        else:
            # The key is held: by another writer's run (adopt its id), or by this run's own guard from an
            # earlier delivery of the batch whose run write was lost (write the run).
            one_by_one.append(index)
    store.concurrently(functools.partial(_put_if_newer, run, place) for _, run, place in writes)
    recorded.update((index, run) for index, run, _ in writes)
    for index in sorted(one_by_one):
        recorded[index] = _record_one(*newest[index])
    return Recorded([recorded[index] for index in range(len(newest))], held)


# --- deletes -------------------------------------------------------------------------


def delete(task_run_id: UUID) -> TaskRun | None:
    """Delete a run with its natural-key guard and its state history; None if absent."""
    item = _stored(task_run_id)
    return _delete(item) if item is not None else None


def _delete(item: TableItem) -> TaskRun:
    run = decode(item, TaskRun)
    keyed = task_run_keys.is_keyed_run(item)
    guard_key = task_run_keys.of_stored_run(run, item)
    guard_item = item if keyed else task_run_keys.read(guard_key)
    held = task_run_keys.held_states(guard_item, run.id)
    history = state_store.history_items(run.id)
    # The history (its items, and the states the guard or keyed item holds) indexed the run's client events by
    # resource (events.py): those outlive the run, as the reference's do, so they get a reference on the
    # by-resource index first, while the run still leads readers to its held states.
    event_store.keep_findable(
        f"{event_store.TASK_RUN_RESOURCE_PREFIX}{run.id}",
        [*state_store.history_state_ids(history), *(state.id for state in held)],
    )
    batch = store.WriteBatch().delete(item)
    if not keyed and task_run_keys.named_id(guard_item) == run.id:
        batch.delete(_guard(run, guard_key))
    store.transact(batch)
    state_store.delete_history(history, held)
    return run


def delete_for_flow_run(flow_run_id: UUID) -> int:
    """Delete every task run of a flow run (the reference's cascade); returns how many."""
    deleted = 0
    for run, item in _listed(flow_run_id):
        # A keyed run is deleted as listed (its partition's Query is consistent); others are read by id again (a
        # GSI1 copy is eventually consistent, a guard only names its run).
        deleted += 1 if (_delete(item) if task_run_keys.is_keyed_run(item) else delete(run.id)) is not None else 0
    return deleted
