"""Flow runs in the table.

Item: PK=FLOW_RUN#<id>, SK=#META, body = FlowRun JSON (with its current state, so a read
is one GetItem), `state_id` = current state id, `version` = write counter. Every write
of the item is conditional on `version`; a state change is additionally conditional on
`state_id` (attribute_not_exists for a run without a state), so of two racing proposals
exactly one is written. The run's state history lives in the same partition
(see flow_run_states.py), and so does its index anchor (PK=FLOW_RUN#<id>, SK=#INDEX, no body;
flow_run_index.py): the GSI1/2/3/4/7 keys below are on the anchor, written with the run's create
and rewritten only when one of them changes, so a state change does not copy the run into those
indexes; their readers fetch the runs by key (flow_run_index.hydrate). A writer reads the run and
its anchor in one consistent Query (`_load_for_write`): a run without an anchor (stored before
anchors existed, with the keys on its item, or whose create died between its two writes) gets one
on its next write, and its item loses those keys.

Access patterns (ids are UUIDv7, so an id sort key is creation order):
- read by id ................. PK=FLOW_RUN#<id>, SK=#META (consistent GetItem / BatchGetItem)
- state history / by state id  see flow_run_states.py
- list all, newest first ..... anchor: GSI1PK=FLOW_RUNS#<shard>, GSI1SK=<id> (<shard> = crc32(id) % SHARDS:
                               write-sharded, read as one merged stream, store.query_shards)
- by flow .................... anchor: GSI2PK=FLOW_RUNS#FLOW#<flow_id>, GSI2SK=<id>
- subflows by parent task .... anchor: GSI3PK=FLOW_RUNS#PARENT_TASK#<task_run_id>, GSI3SK=<id> (sparse)
- by deployment .............. anchor: GSI4PK=FLOW_RUNS#DEPLOYMENT#<deployment_id>, GSI4SK=<id> (sparse)
- all runs by expected start . anchor: GSI7PK=<the GSI1 shard>, GSI7SK=<sortable expected_start_time>#<id>
                               (an expected-start window is a key range: `expected_start_range`)
- by state type .............. GSI5PK=FLOW_RUNS#STATE#<state type>#<shard>, GSI5SK=<id>
- scheduled and due .......... GSI6PK=SCHEDULED_FLOW_RUNS#QUEUE#<work_queue_id>
                               (no queue: ...#DEPLOYMENT#<deployment_id>, else ...#UNQUEUED),
                               GSI6SK=<sortable next_scheduled_start_time>#<id>.
                               Sparse: set only while the run is SCHEDULED, so the scheduler /
                               dispatcher read exactly the waiting runs with a range query
                               `GSI6SK <= <before>` (see `read_scheduled`).
- next scheduled run of a flow  GSI8PK=SCHEDULED_FLOW_RUNS#FLOW#<flow_id>,
                               GSI8SK=<sortable next_scheduled_start_time>#<id>; sparse like GSI6
                               (SCHEDULED with a scheduled time): `read_next_scheduled` = Limit 1.
- idempotency ................ PK=FLOW_RUN_IDEMPOTENCY#<flow_id>#<key>, SK=#META (guard holding
                               the run id), written with the run in one transaction.

Filters read the narrowest of these (flow_runs_filter.py), never a Scan.
"""

from __future__ import annotations

import datetime
import json
import random
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from uuid import UUID

from shared.orchestration import OrchestrationOutcome, orchestrate_flow_run, resume_flow_run
from shared.orchestration.context import SlotState
from shared.orchestration.flow_run_events import flow_run_state_change_event
from shared.schemas.concurrency_limits import ConcurrencyLeaseHolder
from shared.schemas.flow_runs import FlowRun, FlowRunUpdate
from shared.schemas.states import TERMINAL_STATES, State, StateCreate, StateType
from shared.schemas.types import now_utc
from shared.storage import concurrency_slots, flow_run_index, flow_run_states, observed_states, store
from shared.storage import events as event_store
from shared.storage.errors import ConcurrentUpdate, ObjectAlreadyExists, ObjectNotFound, RunNotFound, StorageError
from shared.storage.keys import NO_TIME, all_shards, decode, key, sharded, sortable_time
from shared.storage.retention import run_expiry
from shared.storage.table import TableItem

ENTITY = "flow_run"
ALL_RUNS = "FLOW_RUNS"
# The all-runs (GSI1, GSI7) and by-state (GSI5) partitions are write-sharded (keys.sharded): at
# most ~3 index writes per flow run each (GSI5; the anchors' GSI1/GSI7 one), over 4 keys.
SHARDS = 4
# Re-read, re-orchestrate and retry this often when a conditional write loses a race;
# after that the client gets 503 + Retry-After (the prefect client retries it).
MAX_WRITE_ATTEMPTS = 6


class FlowRunNotFound(ObjectNotFound):
    pass


class FlowRunStateTargetNotFound(FlowRunNotFound, RunNotFound):
    """set_state / resume on a missing flow run (answered as the reference's ObjectNotFoundError)."""


class MissingFlow(StorageError):
    """POST /flow_runs/ for a flow that does not exist (the reference's FK violation, 409)."""


def run_key(run_id: UUID | str) -> str:
    return flow_run_states.run_key(run_id)


def flow_partition(flow_id: UUID | str) -> str:
    return key("FLOW_RUNS#FLOW", flow_id)


def parent_task_partition(task_run_id: UUID | str) -> str:
    return key("FLOW_RUNS#PARENT_TASK", task_run_id)


def deployment_partition(deployment_id: UUID | str) -> str:
    return key("FLOW_RUNS#DEPLOYMENT", deployment_id)


def state_partition(state_type: StateType | str) -> str:
    return key("FLOW_RUNS#STATE", StateType(state_type).value)


def all_runs_partitions() -> list[str]:
    """The shards of the all-runs partition (GSI1 by id, GSI7 by expected start)."""
    return all_shards(ALL_RUNS, SHARDS)


def state_partitions(state_type: StateType | str) -> list[str]:
    """The shards of one state type's partition (GSI5)."""
    return all_shards(state_partition(state_type), SHARDS)


def items_in_state(state_type: StateType | str, sk_gte: str | None = None) -> Iterator[TableItem]:
    """Run items indexed under `state_type` (GSI5, every shard: the run item's own key), in id order."""
    return store.query_shards(state_partitions(state_type), index="GSI5", sk_gte=sk_gte)


def scheduled_partition(work_queue_id: UUID | None, deployment_id: UUID | None) -> str:
    if work_queue_id is not None:
        return key("SCHEDULED_FLOW_RUNS#QUEUE", work_queue_id)
    if deployment_id is not None:
        return key("SCHEDULED_FLOW_RUNS#DEPLOYMENT", deployment_id)
    return "SCHEDULED_FLOW_RUNS#UNQUEUED"


def scheduled_flow_partition(flow_id: UUID | str) -> str:
    return key("SCHEDULED_FLOW_RUNS#FLOW", flow_id)


def _idempotency_key(flow_id: UUID, idempotency_key: str) -> str:
    return f"FLOW_RUN_IDEMPOTENCY#{flow_id}#{idempotency_key}"


# --- item mapping -------------------------------------------------------------------


def _to_item(run: FlowRun, version: int) -> TableItem:
    """The run item: the keys that follow its state (GSI5, GSI6, GSI8); the others are its anchor's."""
    rid = str(run.id)
    item = TableItem(
        run_key(run.id),
        store.META,
        entity=ENTITY,
        # Estimates roll with the clock; they are computed on read, never stored.
        body=flow_run_states.checked_body(
            run.model_dump_json(exclude={"estimated_run_time", "estimated_start_time_delta"}), "flow run"
        ),
        state_id=str(run.state_id) if run.state_id else None,
        state_timestamp=sortable_time(run.state.timestamp) if run.state else None,
        version=version,
        expires_at=run_expiry(run.state),
    )
    if run.state_type is not None:
        item.GSI5PK, item.GSI5SK = sharded(state_partition(run.state_type), rid, SHARDS), rid
    if run.state_type == StateType.SCHEDULED:
        item.GSI6PK = scheduled_partition(run.work_queue_id, run.deployment_id)
        item.GSI6SK = f"{sortable_time(run.next_scheduled_start_time)}#{rid}"
        if run.next_scheduled_start_time is not None:
            # Per flow, soonest first: the UI's next run of a flow is one Query with Limit=1.
            item.GSI8PK = scheduled_flow_partition(run.flow_id)
            item.GSI8SK = f"{sortable_time(run.next_scheduled_start_time)}#{rid}"
    return item


def expected_start_prefix(when: datetime.datetime | None) -> str:
    """How the by-expected-start sort key (GSI7SK) of every run expected to start at `when` begins."""
    return f"{sortable_time(when)}#"


def expected_start_range(
    after: datetime.datetime | None, before: datetime.datetime | None
) -> tuple[str | None, str | None] | None:
    """The GSI7 sort-key bounds (gte, lte) of the runs expected to start within [after, before]
    (inclusive; None: unbounded), or None when no run can be (after > before). A run without an
    expected start (NO_TIME, sorting after every time) is never inside."""
    if after is not None and before is not None and sortable_time(after) > sortable_time(before):
        return None
    lower = expected_start_prefix(after) if after is not None else None
    # Ids sort before NO_TIME ("~"): "<before>#~" is past every run expected at `before`.
    upper = f"{expected_start_prefix(before)}{NO_TIME}" if before is not None else NO_TIME
    return lower, upper


def _anchor(run: FlowRun) -> TableItem:
    """The run's index anchor (flow_run_index.py): its state-independent keys, expiring with the run."""
    rid = str(run.id)
    item = TableItem(
        run_key(run.id),
        flow_run_index.INDEX_SK,
        entity=flow_run_index.ENTITY,
        expires_at=run_expiry(run.state),
        GSI1PK=sharded(ALL_RUNS, rid, SHARDS),
        GSI1SK=rid,
        GSI2PK=flow_partition(run.flow_id),
        GSI2SK=rid,
        # All runs by expected start time: the UI's default flow-run listing order.
        GSI7PK=sharded(ALL_RUNS, rid, SHARDS),
        GSI7SK=f"{expected_start_prefix(run.expected_start_time)}{rid}",
    )
    if run.parent_task_run_id is not None:
        item.GSI3PK, item.GSI3SK = parent_task_partition(run.parent_task_run_id), rid
    if run.deployment_id is not None:
        item.GSI4PK, item.GSI4SK = deployment_partition(run.deployment_id), rid
    return item


def _anchor_change(stored: TableItem | None, run: FlowRun) -> TableItem | None:
    """The anchor to write with `run` (None: the stored one is still right). Written after the run's
    conditional put, in the batch that follows it: a writer dying in between leaves the run without
    (or with a stale) anchor until its next write, which compares again."""
    wanted = _anchor(run)
    return wanted if flow_run_index.differs(stored, wanted) else None


def with_estimates(run: FlowRun, now: datetime.datetime | None = None) -> FlowRun:
    """Fill the clock-dependent fields the reference computes at read time."""
    now = now or now_utc()
    run_time = run.total_run_time
    if run.state_type == StateType.RUNNING and run.start_time is not None:
        run_time = run_time + max(now - run.start_time, datetime.timedelta(0))
    lateness = datetime.timedelta(0)
    if run.start_time is not None and run.expected_start_time is not None:
        lateness = max(run.start_time - run.expected_start_time, datetime.timedelta(0))
    elif (
        run.start_time is None
        and run.expected_start_time is not None
        and run.expected_start_time < now
        and run.state_type not in TERMINAL_STATES
    ):
        lateness = now - run.expected_start_time
    run.estimated_run_time = run_time
    run.estimated_start_time_delta = lateness
    return run


def from_item(item: TableItem) -> FlowRun:
    return with_estimates(decode(item, FlowRun))


# --- reads --------------------------------------------------------------------------


def _load_for_write(run_id: UUID) -> tuple[FlowRun, int, TableItem | None] | None:
    """(run, version, its anchor or None) in one consistent Query: `#INDEX` and `#META` are adjacent
    sort keys of the run's partition (nothing else sorts between them), about a GetItem's units."""
    items = {item.SK: item for item in store.query(run_key(run_id), sk_gte=flow_run_index.INDEX_SK, sk_lte=store.META)}
    run_item = items.get(store.META)
    if run_item is None:
        return None
    return from_item(run_item), int(run_item.version or 0), items.get(flow_run_index.INDEX_SK)


def read(run_id: UUID) -> FlowRun | None:
    item = store.get(run_key(run_id))
    return from_item(item) if item is not None else None


def read_or_404(run_id: UUID) -> FlowRun:
    run = read(run_id)
    if run is None:
        raise FlowRunNotFound("Flow run not found")
    return run


def read_many(run_ids: list[UUID]) -> list[FlowRun]:
    return list(store.readable(store.batch_get((run_key(rid), store.META) for rid in run_ids), from_item))


def runs_of(entries: Iterable[TableItem], first_page: int = flow_run_index.MAX_PAGE) -> Iterator[FlowRun]:
    """The runs a GSI1/2/3/4/7 stream lists, in its order (see flow_run_index.hydrate)."""
    return flow_run_index.hydrate(entries, from_item, first_page)


def read_by_idempotency_key(flow_id: UUID, idempotency_key: str) -> FlowRun | None:
    guard = store.get(_idempotency_key(flow_id, idempotency_key))
    if guard is None or not guard.body:
        return None
    return read(UUID(json.loads(guard.body)["id"]))


def has_subflow(task_run_id: UUID) -> bool:
    """Whether a flow run has `task_run_id` as its parent task run (GSI3, one item read).
    GSIs are eventually consistent: the body is re-checked."""
    items = store.query(parent_task_partition(task_run_id), index="GSI3", page_size=1)
    return any(run.parent_task_run_id == task_run_id for run in runs_of(items, first_page=1))


def read_scheduled(
    work_queue_id: UUID | None = None,
    deployment_id: UUID | None = None,
    before: datetime.datetime | None = None,
    after: datetime.datetime | None = None,
    limit: int | None = None,
) -> list[FlowRun]:
    """SCHEDULED runs of one queue (or queue-less deployment), soonest first, via the sparse GSI6."""
    runs = store.query(
        scheduled_partition(work_queue_id, deployment_id),
        index="GSI6",
        sk_gte=sortable_time(after) if after else None,
        # "~" sorts after the "#<id>" suffix, so runs due exactly at `before` are included.
        sk_lte=f"{sortable_time(before)}~" if before else None,
        limit=limit,
    )
    # GSIs are eventually consistent: re-check the state on the decoded body.
    return [run for run in store.readable(runs, from_item) if run.state_type == StateType.SCHEDULED]


def read_next_scheduled(flow_id: UUID) -> FlowRun | None:
    """The flow's SCHEDULED run with the soonest next scheduled start time, via the sparse GSI8.

    Pages of one item: normally one item is read. GSIs are eventually consistent, so a run that
    has just left SCHEDULED may still be listed; it is skipped for the next one."""
    items = store.query(scheduled_flow_partition(flow_id), index="GSI8", page_size=1)
    return next((run for run in store.readable(items, from_item) if run.state_type == StateType.SCHEDULED), None)


# --- create -------------------------------------------------------------------------


def insert(run: FlowRun) -> bool:
    """Write a new run with its current state (history item and state event) and its
    idempotency guard; False when the run id or its (flow_id, idempotency_key) already exists.

    The run's conditional put alone decides when nothing else must be atomic with it (a
    transaction would bill every item twice); with a guard, one transaction. Runs are created
    through run_lifecycle, which builds and orchestrates them and keeps a subflow's parent
    task run in step."""
    assert run.state is not None, "a new run carries its initial state"
    batch = store.WriteBatch().put_new(_to_item(run, 1)).put_new(flow_run_states.to_item(run.id, run.state))
    batch.put(event_store.to_item(flow_run_state_change_event(run, None, run.state), in_history=True))
    batch.put(_anchor(run))
    if run.idempotency_key:
        guard = TableItem(
            _idempotency_key(run.flow_id, run.idempotency_key),
            store.META,
            entity="flow_run_idempotency",
            body=json.dumps({"id": str(run.id)}),
        )
        batch.put_new(guard)
    try:
        if not run.idempotency_key:
            _write_state_change(batch, on_conflict=ObjectAlreadyExists)
        else:
            store.transact(batch, on_conflict=ObjectAlreadyExists)
    except ObjectAlreadyExists:
        return False
    observed_states.note([run.state])
    return True


# --- plain updates (no state change) ------------------------------------------------


def _modify(run_id: UUID, change: Callable[[FlowRun], FlowRun]) -> FlowRun:
    """Read-modify-write guarded by `version`; re-applied if another write got in between."""
    for _ in range(MAX_WRITE_ATTEMPTS):
        loaded = _load_for_write(run_id)
        if loaded is None:
            raise FlowRunNotFound("Flow run not found")
        run, version, anchor = loaded
        updated = change(run.model_copy(deep=True))
        updated.updated = now_utc()
        batch = store.WriteBatch().put(_to_item(updated, version + 1), TableItem.version == version)
        if (new_anchor := _anchor_change(anchor, updated)) is not None:
            batch.put(new_anchor)
        try:
            store.put_then_batch(batch)
        except ConcurrentUpdate:
            _backoff()
            continue
        return with_estimates(updated)
    raise ConcurrentUpdate(run_key(run_id))


def update(run_id: UUID, changes: FlowRunUpdate) -> FlowRun:
    values = changes.model_dump(exclude_unset=True)

    def apply(run: FlowRun) -> FlowRun:
        return FlowRun.model_validate({**run.model_dump(), **values})

    return _modify(run_id, apply)


def update_labels(run_id: UUID, labels: dict[str, Any]) -> FlowRun:
    """Merge `labels` into the run's labels (PATCH /flow_runs/{id}/labels)."""

    def apply(run: FlowRun) -> FlowRun:
        # Validated with the model the run is read with: what is stored must read back.
        return FlowRun.model_validate({**run.model_dump(), "labels": {**(run.labels or {}), **labels}})

    return _modify(run_id, apply)


# --- delete -------------------------------------------------------------------------


def delete(run_id: UUID) -> FlowRun:
    """Delete the run and its partition; its task runs and logs are run_lifecycle's to cascade."""
    run = read(run_id)
    if run is None:
        # A delete that stopped after the run item (it goes first) left its anchor and history: a
        # retried DELETE finishes them (an anchor left alone would keep counting in index-only counts).
        with TableItem.batch_write() as batch:
            for leftover in store.query(run_key(run_id)):
                batch.delete(leftover)
        raise FlowRunNotFound("Flow run not found")
    _delete_run(run)
    return run


def _delete_run(run: FlowRun) -> None:
    # The run item goes first, so the run vanishes from every index at once (readers skip an
    # anchor whose run is gone); its anchor and history (anything else in its partition) follow.
    store.delete_key(run_key(run.id))
    leftovers = list(store.query(run_key(run.id)))
    # The history indexed the run's state events by resource (events.py): those outlive the run, as the
    # reference's do, so they get a reference on the by-resource index first.
    event_store.keep_findable(
        f"{event_store.FLOW_RUN_RESOURCE_PREFIX}{run.id}",
        (flow_run_states.state_id(item) for item in leftovers if item.SK.startswith(flow_run_states.STATE_PREFIX)),
    )
    with TableItem.batch_write() as batch:
        for item in leftovers:
            batch.delete(item)
    if run.idempotency_key:
        store.delete_key(_idempotency_key(run.flow_id, run.idempotency_key))


def delete_for_flow(flow_id: UUID) -> list[UUID]:
    """Delete every run of a flow (the flow's delete cascades, as the reference's FK does);
    returns the ids of the runs read back, whose task runs and logs the caller cascades to."""
    items = list(store.query(flow_partition(flow_id), index="GSI2"))
    runs = list(runs_of(items))
    for run in runs:
        _delete_run(run)
    # A run item that no longer reads back, or an anchor whose run is gone, still belongs to the
    # flow: delete its partition by key.
    readable = {run_key(run.id) for run in runs}
    for item in items:
        if item.PK not in readable:
            for leftover in [item, *store.query(item.PK)]:
                store.delete_key(leftover.PK, leftover.SK)
    return [run.id for run in runs]


# --- state changes ------------------------------------------------------------------


def _backoff() -> None:
    time.sleep(random.uniform(0.005, 0.03))


def _state_condition(run: FlowRun, version: int) -> Any:
    on_state = (
        TableItem.state_id == str(run.state_id) if run.state_id is not None else TableItem.state_id.does_not_exist()
    )
    # state_id is the orchestration guard; version also protects concurrent PATCHes.
    return on_state & (TableItem.version == version)


def _write_outcome(
    run: FlowRun,
    version: int,
    anchor: TableItem | None,
    outcome: OrchestrationOutcome[FlowRun],
    extra: list[TableItem] | None = None,
    slots: concurrency_slots.SlotSnapshot | None = None,
) -> FlowRun:
    assert outcome.state is not None
    new_run = outcome.run.model_copy(update={"updated": now_utc()})
    batch = store.WriteBatch().put(_to_item(new_run, version + 1), _state_condition(run, version))
    batch.put_new(flow_run_states.to_item(new_run.id, outcome.state))
    # The server-side `prefect.flow-run.<State>` event commits with the state it describes.
    batch.put(event_store.to_item(flow_run_state_change_event(new_run, run.state, outcome.state), in_history=True))
    # Normally unchanged: only an expected start time, an expiry or a legacy run's keys move it.
    if (new_anchor := _anchor_change(anchor, new_run)) is not None:
        batch.put(new_anchor)
    follows_the_run = len(batch)
    for item in extra or []:
        batch.put(item)
    if slots is not None:
        # Deployment concurrency slots are taken / given back with the state, atomically.
        holder = ConcurrencyLeaseHolder(type="flow_run", id=run.id)
        concurrency_slots.add_changes(batch, slots, outcome.slot_changes, holder)
    if len(batch) == follows_the_run:
        _write_state_change(batch)
    else:
        store.transact(batch)
    observed_states.note([outcome.state])
    return new_run


def _write_state_change(batch: store.WriteBatch, on_conflict: type[Exception] = ConcurrentUpdate) -> None:
    """Run + its new state + the state's event (+ its anchor when that changes), with nothing else
    to commit alongside: the run's conditional put alone decides the race (a transaction would bill
    every item twice), then the history item, the event and the anchor follow in one
    BatchWriteItem. A process dying between the two leaves the run authoritative:
    `flow_run_states.history` adds the run's current state when its item is missing, and the run's
    next write writes the anchor."""
    store.put_then_batch(batch, on_conflict=on_conflict)


def _orchestrate_and_write(
    run_id: UUID,
    decide: Callable[[FlowRun, SlotState | None], OrchestrationOutcome[FlowRun]],
    extra: Callable[[OrchestrationOutcome[FlowRun]], list[TableItem]] | None = None,
    proposed_type: StateType | None = None,
) -> OrchestrationOutcome[FlowRun]:
    for _ in range(MAX_WRITE_ATTEMPTS):
        loaded = _load_for_write(run_id)
        if loaded is None:
            raise FlowRunStateTargetNotFound(f"Flow run with id {run_id} not found")
        run, version, anchor = loaded
        # The concurrency rules decide on slot state read now; a slot taken by another run
        # before our write makes the write fail, and we decide again (next attempt).
        slots = concurrency_slots.flow_run_slots(run, proposed_type)
        outcome = decide(run, slots.state)
        if not outcome.write:
            return outcome
        try:
            _write_outcome(run, version, anchor, outcome, extra(outcome) if extra else [], slots)
        except ConcurrentUpdate:
            # Someone else changed the run since we read it: decide again against the fresh
            # state, so the loser of a race gets the answer the rules give (e.g. ABORT).
            _backoff()
            continue
        return outcome
    raise ConcurrentUpdate(run_key(run_id))


def set_state(run_id: UUID, proposed: StateCreate | State, force: bool = False) -> OrchestrationOutcome[FlowRun]:
    """Orchestrate and (if accepted) write a proposed state; raises FlowRunStateTargetNotFound."""
    return _orchestrate_and_write(
        run_id,
        lambda run, slots: orchestrate_flow_run(run, proposed, force=force, slots=slots),
        proposed_type=proposed.type,
    )


def resume(
    run_id: UUID,
    run_input_error: Callable[[FlowRun], str | None] | None = None,
    input_items: Callable[[FlowRun, OrchestrationOutcome[FlowRun]], list[TableItem]] | None = None,
) -> OrchestrationOutcome[FlowRun]:
    """POST /flow_runs/{id}/resume: input validation is the caller's (it needs the input store).

    `input_items(paused run, outcome)` are written in the transaction of the new state (the
    paused run carries the keyset naming where the response goes)."""
    decided_on: list[FlowRun] = []

    def decide(run: FlowRun, _slots: SlotState | None) -> OrchestrationOutcome[FlowRun]:
        decided_on[:] = [run]
        error = run_input_error(run) if run_input_error and run.state_type == StateType.PAUSED else None
        return resume_flow_run(run, run_input_error=error)

    def extra(outcome: OrchestrationOutcome[FlowRun]) -> list[TableItem]:
        return input_items(decided_on[0], outcome) if input_items else []

    return _orchestrate_and_write(run_id, decide, extra)


# --- deletes of runs read earlier -------------------------------------------------


def delete_if_unchanged(run: FlowRun) -> bool:
    """Delete `run` only if it is still in the state it was read in (a worker may have
    claimed it since): the deployment paths that drop not-yet-started scheduled runs."""
    condition = (
        TableItem.state_id == str(run.state_id) if run.state_id is not None else TableItem.state_id.does_not_exist()
    )
    try:
        store.delete(TableItem(run_key(run.id), store.META), condition=condition)
    except ConcurrentUpdate:
        return False
    _delete_run(run)
    return True


def read_in_state(state_type: StateType, created_after: datetime.datetime | None = None) -> list[FlowRun]:
    """Runs currently in `state_type` (GSI5), optionally only those created after a time:
    ids are UUIDv7, so the range `GSI5SK >= <uuid7 floor>` bounds a partition that only
    grows (CANCELLED, COMPLETED...). For the maintenance functions (cancellation cleanup)."""
    floor = None
    if created_after is not None:
        hex_ms = f"{int(created_after.timestamp() * 1000):012x}"
        floor = f"{hex_ms[:8]}-{hex_ms[8:12]}"
    items = items_in_state(state_type, sk_gte=floor)
    # GSIs lag: re-check the state on the decoded body.
    return [run for run in store.readable(items, from_item) if run.state_type == state_type]
