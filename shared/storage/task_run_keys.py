"""A task run's natural-key guard, and the first states it may hold.

Keys:
- a run with a flow run: PK=TASK_RUN_KEYS#<flow_run_id>, SK=<sha256(task_key, dynamic_key), 32 hex>: the
  guards of a flow run's task runs share its partition, so one Query of it lists them (their ids: the
  runs are then read by id). That listing is what the runs' by-flow-run index copy (GSI1, 1 WRU a run)
  was for: a run guarded here has none.
- a run without a flow run (REST creates only), and every run stored before the guards moved:
  PK=TASK_RUN_KEY#<sha256(flow_run_id, task_key, dynamic_key)>, SK=#META ("legacy"): such a run is
  listed by its GSI1 copy (TASK_RUNS_OF#<flow_run_id|none>), and keeps it on every rewrite. Which key
  a stored run's guard has is told by its item: a GSI1 key means the legacy guard (`of_stored_run`).
  A natural key is looked up under both (`lookup_keys`): only the legacy one can name a run stored
  before, and no writer puts a legacy guard for a run with a flow run any more, so the two never
  disagree.
Keyed runs (issue #13): a run the stream-fed recorder creates in a flow run, with a UUIDv7 id, while runs are
kept forever (`may_key`), is stored AT its natural key: the item under the new key above is the run itself
(entity task_run, body the TaskRun, with its index keys), not a guard naming it. One item is both the run and
its guard: 1 WRU where a run and its guard were 2. Nothing is keyed by its id, so a read by id finds it
through its page of run ids (task_run_ids.py: `keyed_items`). The states its creating batch held are in its
`held` attribute (a guard's body holds them). Writers tell a keyed run by its item (`is_keyed_run`) and
rewrite it in place, carrying `held` and `child_flow_run_id` over (task_runs.py).
Guards: no index keys, no TTL. Attribute `child_flow_run_id`: set when a flow run is created with this run as its
parent_task_run_id (task_runs.mark_subflow_parent), so a COUNT Query of a flow run's guards leaves out the
task runs that stand for subflows (the UI's count-task-runs, as the reference's).
Body: {"id": <task run id>} (the run the natural key names), and for a run the stream-fed recorder
created, "states": the states of the run its creating batch held, oldest first.

Why the states ride on it: the recorder writes the guard of a run it creates anyway (one conditional
put_new, task_runs.record_many), ~155 bytes for 1 WRU; a history group of the same states was one more
item (1 WRU of a task run's ~10.5). With a few compressed states the guard still fits one WRU
(MAX_HELD_ITEM_BYTES), so the run's first states cost nothing more. Only that creating batch puts states
here: later batches of the run, replays, adopted ids, lost races and REST writes keep writing history
items in the run's partition (task_run_states.py), whose readers add the guard's states:
- a run's history / its state ids in a time range: the run item (the same Query as the history: it is
  the #META item of the history's partition) gives flow_run_id, task_key and dynamic_key, hence the guard
  key: one GetItem, its states counted only when its id is the run's (`held_states`);
- a state by id: its page of state ids (or pointer) names the guard (`GuardKey.where`: its PK, or
  PK#SK for a guard in its flow run's partition) instead of a group SK (`is_guard_key`): one GetItem;
- a run's delete: the guard goes with the run (as before), its states' events get their by-resource
  references first (task_runs.delete).
Reads drop duplicate state ids, so a replay that writes a group beside the guard's states is harmless.

Retention: guards keep no TTL (a guard that expired under a live run would let a second run take its
natural key). The guard holds states only while runs are kept forever (`holds_history`: the default,
`SERVERFLOW_RUN_RETENTION_DAYS` 0): then run, guard and history are all kept, so the history is always
found through its run. With a run retention the run expires before the events its history indexes
(retention.history_expiry), and states held by a guard the run no longer names would be unreadable and
never deleted: the recorder writes groups then, as before. Runs recorded before a retention is turned on
keep the states their guards hold; once such a run expires, its history (and so its events by resource,
if they outlive it) is no longer found, and its guard stays (and, in its flow run's partition, a listing
of the flow run reads it, finds no run under its id and skips it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import ClassVar, NamedTuple
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.schemas.states import State
from shared.schemas.task_runs import TaskRun
from shared.storage import body_codec, store, task_run_ids
from shared.storage.keys import key
from shared.storage.retention import run_retention
from shared.storage.table import TableItem

ENTITY = "task_run_key"
RUN_ENTITY = "task_run"  # a keyed run (and every run item: task_runs.ENTITY)
PARTITION = "TASK_RUN_KEY"  # legacy guards: one partition per natural key
FLOW_RUN_PARTITION = "TASK_RUN_KEYS"  # guards of a flow run's task runs: one partition per flow run
# 128 bits of the SHA-256 of (task_key, dynamic_key): collision-free in practice, and short, since page
# entries and pointers of the states a guard holds spell out its key.
DIGEST_CHARS = 32
# A guard holds states only while the whole item stays within one write unit (1 KB): key, attribute names
# and the compressed body. Three states of a prefect client's task run compress to ~350 bytes.
MAX_HELD_ITEM_BYTES = 1024


class Held(NamedTuple):
    """States of a run its guard holds (the recorder's batch that created the run): where (`GuardKey.where`),
    and which."""

    where: str
    state_ids: frozenset[UUID]


class _Named(BaseModel):
    """A guard's body read for the run it names only (its states are left unparsed)."""

    id: UUID


class Guard(BaseModel):
    """A guard's body: the run its natural key names, and the states of it the guard holds."""

    model_config: ClassVar[ConfigDict] = ConfigDict(defer_build=True)  # built on first use (cold start)

    id: UUID
    states: list[State] = []


class HeldStates(BaseModel):
    """A keyed run's `held` attribute: the states of it its creating recorder batch held, oldest first."""

    model_config: ClassVar[ConfigDict] = ConfigDict(defer_build=True)  # built on first use (cold start)

    states: list[State]


class GuardKey(NamedTuple):
    """Where a natural key's guard is stored."""

    pk: str
    sk: str

    @property
    def where(self) -> str:
        """How page entries and pointers name the guard: its PK (a legacy guard), else PK#SK."""
        return self.pk if self.sk == store.META else f"{self.pk}#{self.sk}"


def natural_key(flow_run_id: UUID | None, task_key: str, dynamic_key: str) -> str:
    """The legacy guard's PK. Hashed: task keys are user-controlled, may contain '#' and may be long."""
    raw = json.dumps([str(flow_run_id) if flow_run_id else None, task_key, dynamic_key])
    return key(PARTITION, hashlib.sha256(raw.encode()).hexdigest())


def legacy_key(flow_run_id: UUID | None, task_key: str, dynamic_key: str) -> GuardKey:
    return GuardKey(natural_key(flow_run_id, task_key, dynamic_key), store.META)


def flow_run_partition(flow_run_id: UUID) -> str:
    return key(FLOW_RUN_PARTITION, flow_run_id)


def new_key(flow_run_id: UUID | None, task_key: str, dynamic_key: str) -> GuardKey:
    """The key a new run's guard is written under: in its flow run's partition, if it has one."""
    if flow_run_id is None:
        return legacy_key(flow_run_id, task_key, dynamic_key)
    digest = hashlib.sha256(json.dumps([task_key, dynamic_key]).encode()).hexdigest()[:DIGEST_CHARS]
    return GuardKey(flow_run_partition(flow_run_id), digest)


def lookup_keys(flow_run_id: UUID | None, task_key: str, dynamic_key: str) -> list[GuardKey]:
    """Every key a natural key's guard may be under: the new one, and the legacy one of a run stored before."""
    keys = [new_key(flow_run_id, task_key, dynamic_key)]
    if flow_run_id is not None:
        keys.append(legacy_key(flow_run_id, task_key, dynamic_key))
    return keys


def listed_by_index(run_item: TableItem) -> bool:
    """Whether a stored run item has its by-flow-run index copy (GSI1): then its guard is a legacy one."""
    return run_item.GSI1PK is not None


def of_stored_run(run: TaskRun, run_item: TableItem) -> GuardKey:
    """The guard of a stored run (`run` decoded from `run_item`)."""
    if listed_by_index(run_item):
        return legacy_key(run.flow_run_id, run.task_key, run.dynamic_key)
    return new_key(run.flow_run_id, run.task_key, run.dynamic_key)


def is_guard_key(where: str) -> bool:
    """Whether a state's location (a page entry's or pointer's group SK) names a guard."""
    return where.startswith((f"{PARTITION}#", f"{FLOW_RUN_PARTITION}#"))


def located(where: str) -> GuardKey:
    """The guard a location (`GuardKey.where`) names."""
    if where.startswith(f"{FLOW_RUN_PARTITION}#"):
        pk, sk = where.rsplit("#", 1)
        return GuardKey(pk, sk)
    return GuardKey(where, store.META)


def read(guard: GuardKey) -> TableItem | None:
    return store.get(guard.pk, guard.sk)


def is_keyed_run(item: TableItem | None) -> bool:
    """Whether an item under a natural key is a keyed run (the run itself), not a guard naming one."""
    return item is not None and item.entity == RUN_ENTITY and item.PK.startswith(f"{FLOW_RUN_PARTITION}#")


def may_key(task_run_id: UUID, flow_run_id: UUID | None) -> bool:
    """Whether a run the recorder creates is keyed: it has a flow run (its partition), a UUIDv7 id (its page
    of run ids finds it by id) and runs are kept forever (the pages and the run keep no TTL)."""
    return flow_run_id is not None and task_run_ids.partition(task_run_id) is not None and holds_history()


def keyed_location(flow_run_id: UUID, digest: str) -> GuardKey:
    return GuardKey(flow_run_partition(flow_run_id), digest)


def keyed_items(ids: Iterable[UUID], *, consistent: bool = True) -> dict[UUID, TableItem]:
    """The keyed runs among `ids`, by id (ids that are not keyed, or gone, are left out): their pages of run ids
    (one Query per partition), then the places those name (one BatchGetItem). An item is taken only if it is a
    keyed run with that id; were a run at two places (a natural key changed: no prefect client does that), the
    one with the newest state."""
    places = task_run_ids.locations(ids)
    wanted = {keyed_location(flow_run_id, digest) for found in places.values() for flow_run_id, digest in found}
    found: dict[UUID, TableItem] = {}
    for item in store.batch_get(((g.pk, g.sk) for g in wanted), consistent=consistent):
        run_id = named_id(item) if is_keyed_run(item) else None
        if run_id is None or run_id not in places:
            continue
        known = found.get(run_id)
        if known is None or (item.state_timestamp or "") > (known.state_timestamp or ""):
            found[run_id] = item
    return found


def named_id(item: TableItem | None) -> UUID | None:
    """The run a stored guard names, or a keyed run's id (None: no item, or one without a body)."""
    if item is None or not item.body:
        return None
    return _Named.model_validate_json(item.body).id


def items_in_flow_run(flow_run_id: UUID, *, subflow_parents: bool = True) -> list[TableItem]:
    """The guards and keyed runs in a flow run's partition (one Query; runs keyed before keep GSI1 instead);
    `subflow_parents=False` leaves out those marked as a subflow's parent (`child_flow_run_id`)."""
    items = store.query(flow_run_partition(flow_run_id))
    return [item for item in items if subflow_parents or item.child_flow_run_id is None]


def ids_in_flow_run(flow_run_id: UUID, *, subflow_parents: bool = True) -> list[UUID]:
    """The runs the guards (and keyed runs) in a flow run's partition name (`items_in_flow_run`)."""
    ids = (named_id(item) for item in items_in_flow_run(flow_run_id, subflow_parents=subflow_parents))
    return [found for found in ids if found is not None]


def holds_history() -> bool:
    """Whether the recorder may put a new run's states on its guard (see Retention above)."""
    return run_retention() is None


def guard_item(guard: GuardKey, task_run_id: UUID) -> TableItem:
    """The guard naming `task_run_id`, holding no states."""
    return TableItem(guard.pk, guard.sk, entity=ENTITY, body=json.dumps({"id": str(task_run_id)}))


def holding_item(guard: GuardKey, task_run_id: UUID, states: Sequence[State]) -> TableItem | None:
    """The guard naming `task_run_id` and holding `states`, or None when they would not fit one write unit."""
    distinct = list({state.id: state for state in states}.values())
    stored = body_codec.pack(Guard(id=task_run_id, states=distinct).model_dump_json())
    # The body as unpacked text keeps its stored bytes: the write does not compress it again.
    item = TableItem(guard.pk, guard.sk, entity=ENTITY, body=body_codec.unpack(stored))
    return item if store.item_size(item) <= MAX_HELD_ITEM_BYTES else None


def held_text(states: Sequence[State]) -> str:
    """A keyed run's `held` attribute for `states` (each once)."""
    return HeldStates(states=list({state.id: state for state in states}.values())).model_dump_json()


def held_states(item: TableItem | None, task_run_id: UUID) -> list[State]:
    """The states a guard, or a keyed run, holds of `task_run_id` ([] when it names another run, or holds none)."""
    if item is None or not item.body:
        return []
    if is_keyed_run(item):
        if not item.held or named_id(item) != task_run_id:
            return []
        return HeldStates.model_validate_json(item.held).states
    guard = Guard.model_validate_json(item.body)
    return guard.states if guard.id == task_run_id else []
