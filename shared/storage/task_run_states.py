"""Task-run state history in the table.

Access patterns:
- history of one task run, oldest first .. PK=TASK_RUN#<task_run_id>, SK begins_with STATE# (same
  partition as the run, so history reads are strongly consistent and a run's delete finds its states
  with one Query). Two kinds of history item live there:
  - a state group (entity task_run_state_group), written by the stream-fed recorder: every state of
    the run that one recorder batch holds, oldest first, in one item without an index copy,
    SK=STATE#<first state's timestamp>#<first state id>#<digest of the group's state ids>;
  - a single state (entity task_run_state), SK=STATE#<timestamp>#<state_id>, with its GSI1 copy:
    written by REST set_state, and by the recorder before groups existed.
  The read flattens both and keeps each state id once, ordered by (timestamp, id) as the sort keys
  of single states are. The states of the recorder batch that created a run are on the run's
  natural-key guard instead (task_run_keys.py): the read Queries the partition from the run item
  (#META sorts before STATE#) and adds the states of the guard its natural key names (one GetItem).
- one state by id ......................... a group's state with a UUIDv7 id (prefect 3.9.1's and the
  SDK's): the page of state ids its id's minute and shard name (task_run_state_ids.py: one Query)
  names the run and the group's SK, then that group (GetItem); a group's state with any other id,
  or stored before pages: its pointer PK=TASK_RUN_STATE#<state_id>, SK=#META (GetItem + GetItem); a
  single state: GSI1PK=TASK_RUN_STATE#<state_id>, GSI1SK=# (the Query tried when neither finds it).
  If the group named is gone, the run's history is read. A page entry or pointer of a state its run's
  guard holds names the guard (its PK, TASK_RUN_KEY#..., or PK#SK, TASK_RUN_KEYS#<flow run>#<digest>) in
  place of a group SK: one GetItem.
- idempotent, lossless recorder writes: a group's key is derived from its set of states, so a replayed
  batch rewrites the same group, pages and pointers (BatchWriteItem, 25 items a call), and a replay
  split differently writes other groups (and pages) next to the first ones, never over them: a state
  is never lost, duplicates are dropped at read. A pointer names whichever group holding its state was
  written last. A 3-state run recorded in one batch costs 1 group + its share of the batch's pages
  (from ~0.1 WRU a state in full batches up to 1 WRU a state alone in its page); with non-UUIDv7 ids,
  1 group + 3 pointers = 4 WRU (single states: 3 + 3 GSI1 = 6).
- state ids of a run in a time range .... the run's history Query above up to STATE#<until> (a group's
  SK carries only its first timestamp, so each state is then selected by its own timestamp): a state
  recorded from a client event has the event's id and timestamp (= its `occurred`), so this indexes
  the run's client events by resource for shared/storage/events.py (kept at least as long as the
  events: retention.history_expiry, on groups, pages and pointers alike; the guard's states only while
  runs are kept forever, task_run_keys.holds_history), plus the guard's states in range.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.schemas.states import State
from shared.schemas.task_runs import TaskRun
from shared.storage import observed_states, store, task_run_keys, task_run_state_ids
from shared.storage.keys import decode, key, sortable_time
from shared.storage.retention import history_expiry
from shared.storage.table import TableItem

ENTITY = "task_run_state"
GROUP_ENTITY = "task_run_state_group"
POINTER_ENTITY = "task_run_state_pointer"
# `version` of a group whose UUIDv7 states are found through pages (task_run_state_ids.py), not pointers:
# groups written before pages (no version) have a pointer per state, which the run's delete removes.
PAGED_GROUP_VERSION = 2
STATE_SK_PREFIX = "STATE#"
# DynamoDB rejects items over 400 KB: a batch's states of one run past this much JSON go into more groups.
MAX_GROUP_JSON_BYTES = 300 * 1024


class StateGroup(BaseModel):
    """A group item's body: states of one run, oldest first."""

    model_config: ClassVar[ConfigDict] = ConfigDict(defer_build=True)  # built on first use (cold start)

    states: list[State]


class StatePointer(BaseModel):
    """A pointer item's body: where a recorded state is stored."""

    task_run_id: UUID
    history_sk: str


def run_key(task_run_id: UUID | str) -> str:
    return key("TASK_RUN", task_run_id)


def _pointer_key(state_id: UUID | str) -> str:
    return key("TASK_RUN_STATE", state_id)


def _order(state: State) -> tuple[str, str]:
    """The order of single states' sort keys (timestamp, then id): history reads sort by it."""
    return sortable_time(state.timestamp), str(state.id)


def to_item(task_run_id: UUID, state: State) -> TableItem:
    """One state as its own history item with its by-id index copy (REST set_state)."""
    return TableItem(
        run_key(task_run_id),
        f"{STATE_SK_PREFIX}{sortable_time(state.timestamp)}#{state.id}",
        entity=ENTITY,
        body=state.model_dump_json(),
        state_id=str(state.id),
        state_timestamp=sortable_time(state.timestamp),
        expires_at=history_expiry(state),
        GSI1PK=_pointer_key(state.id),
        GSI1SK="#",
    )


def _group(task_run_id: UUID, states: list[State]) -> TableItem:
    first = states[0]
    digest = hashlib.blake2b("|".join(str(state.id) for state in states).encode(), digest_size=8).hexdigest()
    expiries = [history_expiry(state) for state in states]
    # The group lives as long as its longest-kept state; its pages and pointers as long as the group.
    return TableItem(
        run_key(task_run_id),
        f"{STATE_SK_PREFIX}{sortable_time(first.timestamp)}#{first.id}#{digest}",
        entity=GROUP_ENTITY,
        body=StateGroup(states=states).model_dump_json(),
        state_id=str(first.id),
        state_timestamp=sortable_time(first.timestamp),
        expires_at=None if None in expiries else max(e for e in expiries if e is not None),
        version=PAGED_GROUP_VERSION,
    )


def _locators(stored: list[tuple[UUID, str, float | None, list[State]]]) -> list[TableItem]:
    """What finds the (run, where: a group's SK or a guard's location, its expiry, the states there) states by id:
    the pages of the UUIDv7 ids (one set for all the groups of a batch), a pointer for each other id."""
    paged: list[tuple[task_run_state_ids.Entry, float | None]] = []
    pointers: list[TableItem] = []
    for task_run_id, where, expires_at, states in stored:
        for state in states:
            if task_run_state_ids.partition(state.id) is not None:
                paged.append((task_run_state_ids.Entry(str(state.id), str(task_run_id), where), expires_at))
                continue
            body = StatePointer(task_run_id=task_run_id, history_sk=where).model_dump_json()
            pointers.append(
                TableItem(_pointer_key(state.id), store.META, entity=POINTER_ENTITY, body=body, expires_at=expires_at)
            )
    return [*task_run_state_ids.pages(paged), *pointers]


def _chunks(states: list[State]) -> Iterable[list[State]]:
    """The states in groups small enough to store, the same split for the same states."""
    return store.chunked(states, lambda state: len(state.model_dump_json().encode()), MAX_GROUP_JSON_BYTES)


def record_many(states: Iterable[tuple[UUID, State]], held: Mapping[UUID, task_run_keys.Held] | None = None) -> int:
    """Record a recorder batch's states: per run, one group item holding them; the batch's pages of state ids
    (per minute and shard of the UUIDv7 ids) and a pointer per other state. The states of a run that its guard
    holds (`held`, from task_runs.record_many: the guards it wrote for new runs, and those it read holding states
    already, as on a replay) go in no group: their pages and pointers name the guard.

    Replays rewrite the same items (keys derived from the states); returns how many states."""
    held = held or {}
    per_run: dict[UUID, dict[UUID, State]] = defaultdict(dict)
    for task_run_id, state in states:
        per_run[task_run_id][state.id] = state

    def on_guard(task_run_id: UUID, state: State) -> bool:
        return task_run_id in held and state.id in held[task_run_id].state_ids

    groups = [
        (task_run_id, _group(task_run_id, chunk), chunk)
        for task_run_id, by_id in per_run.items()
        for chunk in _chunks(sorted((s for s in by_id.values() if not on_guard(task_run_id, s)), key=_order))
    ]
    stored: list[tuple[UUID, str, float | None, list[State]]] = [
        (task_run_id, str(group.SK), group.expires_at, chunk) for task_run_id, group, chunk in groups
    ]
    # A guard has no TTL (task_run_keys.py): neither have the pages and pointers of the states it holds.
    stored += [
        (task_run_id, guard.where, None, [s for s in per_run[task_run_id].values() if on_guard(task_run_id, s)])
        for task_run_id, guard in held.items()
    ]
    # Groups before pages and pointers (item order is call order; the guards were written before this call):
    # none names a group not yet written.
    store.batch_put([group for _, group, _ in groups] + _locators(stored))
    observed_states.note(state for by_id in per_run.values() for state in by_id.values())
    return sum(len(by_id) for by_id in per_run.values())


def _states_of(item: TableItem) -> list[State]:
    if item.entity == GROUP_ENTITY:
        return decode(item, StateGroup).states
    return [decode(item, State)]


def _in_order(states: Iterable[State]) -> list[State]:
    """Each state id once (the last seen wins), ordered by (timestamp, id)."""
    by_id = {state.id: state for state in states}
    return sorted(by_id.values(), key=_order)


def _flattened(items: Iterable[TableItem]) -> list[State]:
    """The states of history items, each id once, ordered by (timestamp, id)."""
    return _in_order(state for item in items for state in _states_of(item))


def _located(state_id: UUID) -> list[tuple[UUID, str]]:
    """(run, group SK or guard location) of the items said to hold a state: its pages, else (other ids, states stored
    before pages) its pointer."""
    paged = task_run_state_ids.locations(state_id)
    if paged:
        return paged
    pointer_item = store.get(_pointer_key(state_id))
    if pointer_item is None:
        return []
    pointer = decode(pointer_item, StatePointer)
    return [(pointer.task_run_id, pointer.history_sk)]


def _stored_at(task_run_id: UUID, where: str) -> list[State] | None:
    """The states the item a locator names holds (None when it is gone, or is a guard that no longer holds
    the run's states)."""
    if task_run_keys.is_guard_key(where):
        return task_run_keys.held_states(task_run_keys.read(task_run_keys.located(where)), task_run_id) or None
    group = store.get(run_key(task_run_id), where)
    return _states_of(group) if group is not None else None


def read(state_id: UUID) -> State | None:
    for task_run_id, where in _located(state_id):
        states = _stored_at(task_run_id, where)
        for state in read_for_run(task_run_id) if states is None else states:
            if state.id == state_id:
                return state
    for item in store.query(_pointer_key(state_id), index="GSI1", limit=1):
        return decode(item, State)
    return None


def guard_held(run_item: TableItem | None) -> list[State]:
    """The states the natural-key guard of a stored run (its #META item) holds: one GetItem (task_run_keys.py).
    Only the recorder's runs, which always have a flow run, can have them."""
    if run_item is None:
        return []
    run = decode(run_item, TaskRun)
    if task_run_keys.is_keyed_run(run_item):
        return task_run_keys.held_states(run_item, run.id)  # a keyed run holds them itself
    if run.flow_run_id is None:
        return []
    return task_run_keys.held_states(task_run_keys.read(task_run_keys.of_stored_run(run, run_item)), run.id)


def _with_held(task_run_id: UUID, items: Iterable[TableItem]) -> list[State]:
    """The states of a Query of a run's partition from its #META item on: its history items' and its guard's,
    each id once, ordered by (timestamp, id). A keyed run has no #META item there: it is found through its
    page of run ids (task_run_keys.keyed_items), with the states it holds."""
    run_item: TableItem | None = None
    history: list[TableItem] = []
    for item in items:
        if item.SK == store.META:
            run_item = item
        elif item.SK.startswith(STATE_SK_PREFIX):
            history.append(item)
    if run_item is None:
        run_item = task_run_keys.keyed_items([task_run_id]).get(task_run_id)
    return _in_order([*guard_held(run_item), *(state for item in history for state in _states_of(item))])


def read_for_run(task_run_id: UUID) -> list[State]:
    # One Query for the run item (#META sorts before STATE#) and its history, then its guard.
    return _with_held(task_run_id, store.query(run_key(task_run_id), sk_gte=store.META, sk_lte=f"{STATE_SK_PREFIX}~"))


def state_ids(task_run_id: UUID, since: str, until: str) -> list[UUID]:
    """Ids of the run's history states with a sortable timestamp in [since, until], oldest first."""
    # A group's SK has its first timestamp: none after `until` holds a state in range, earlier ones may.
    items = store.query(run_key(task_run_id), sk_gte=store.META, sk_lte=f"{STATE_SK_PREFIX}{until}")
    return [state.id for state in _with_held(task_run_id, items) if since <= sortable_time(state.timestamp) <= until]


def history_items(task_run_id: UUID) -> list[TableItem]:
    """Every history item of a run: groups and single states."""
    return list(store.query(run_key(task_run_id), sk_prefix=STATE_SK_PREFIX))


def history_state_ids(items: Iterable[TableItem]) -> list[UUID]:
    """The ids of the states that history items hold, each once, oldest first."""
    return [state.id for state in _flattened(items)]


def delete_history(items: list[TableItem], held: Iterable[State] = ()) -> None:
    """Delete a run's history items (`history_items`) and the pointers of their grouped states and of the
    states its guard held (`held`: the guard goes with the run). A paged state's entry stays in its page until
    the page's TTL: reads then find neither its group or guard nor the run's history."""
    pointers = [
        (_pointer_key(s.id), store.META)
        for item in items
        if item.entity == GROUP_ENTITY
        for s in _states_of(item)
        if item.version != PAGED_GROUP_VERSION or task_run_state_ids.partition(s.id) is None
    ]
    pointers += [(_pointer_key(s.id), store.META) for s in held if task_run_state_ids.partition(s.id) is None]
    store.batch_delete([(item.PK, item.SK) for item in items] + pointers)
