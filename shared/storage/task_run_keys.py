"""A task run's natural-key guard, and the first states it may hold.

Key: PK=TASK_RUN_KEY#<sha256(flow_run_id, task_key, dynamic_key)>, SK=#META, no index keys, no TTL.
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
- a state by id: its page of state ids (or pointer) names the guard's PK instead of a group SK
  (`is_guard_key`): one GetItem;
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
if they outlive it) is no longer found, and its guard stays.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import NamedTuple
from uuid import UUID

from pydantic import BaseModel

from shared.schemas.states import State
from shared.storage import body_codec, store
from shared.storage.keys import key
from shared.storage.retention import run_retention
from shared.storage.table import TableItem

ENTITY = "task_run_key"
PARTITION = "TASK_RUN_KEY"
# A guard holds states only while the whole item stays within one write unit (1 KB): key, attribute names
# and the compressed body. Three states of a prefect client's task run compress to ~350 bytes.
MAX_HELD_ITEM_BYTES = 1024


class Held(NamedTuple):
    """States of a run its guard holds (the recorder's batch that created the run): where, and which."""

    guard_pk: str
    state_ids: frozenset[UUID]


class Guard(BaseModel):
    """A guard's body: the run its natural key names, and the states of it the guard holds."""

    id: UUID
    states: list[State] = []


def natural_key(flow_run_id: UUID | None, task_key: str, dynamic_key: str) -> str:
    # Hashed: task keys are user-controlled, may contain '#' and may be long.
    raw = json.dumps([str(flow_run_id) if flow_run_id else None, task_key, dynamic_key])
    return key(PARTITION, hashlib.sha256(raw.encode()).hexdigest())


def is_guard_key(where: str) -> bool:
    """Whether a state's location (a page entry's or pointer's group SK) names a guard."""
    return where.startswith(f"{PARTITION}#")


def holds_history() -> bool:
    """Whether the recorder may put a new run's states on its guard (see Retention above)."""
    return run_retention() is None


def _size(natural: str, stored_body: bytes) -> int:
    """A guard item's billed size: its attributes' names and values (the body as stored)."""
    texts = {"PK": natural, "SK": store.META, "entity": ENTITY}
    return sum(len(name) + len(value.encode()) for name, value in texts.items()) + len("body") + len(stored_body)


def guard_item(natural: str, task_run_id: UUID) -> TableItem:
    """The guard naming `task_run_id`, holding no states."""
    return TableItem(natural, store.META, entity=ENTITY, body=json.dumps({"id": str(task_run_id)}))


def holding_item(natural: str, task_run_id: UUID, states: Sequence[State]) -> TableItem | None:
    """The guard naming `task_run_id` and holding `states`, or None when they would not fit one write unit."""
    distinct = list({state.id: state for state in states}.values())
    stored = body_codec.pack(Guard(id=task_run_id, states=distinct).model_dump_json())
    if _size(natural, stored) > MAX_HELD_ITEM_BYTES:
        return None
    # The body as unpacked text keeps its stored bytes: the write does not compress it again.
    return TableItem(natural, store.META, entity=ENTITY, body=body_codec.unpack(stored))


def held_states(item: TableItem | None, task_run_id: UUID) -> list[State]:
    """The states a guard holds of `task_run_id` ([] when it names another run, or holds none)."""
    if item is None or not item.body:
        return []
    guard = Guard.model_validate_json(item.body)
    return guard.states if guard.id == task_run_id else []
