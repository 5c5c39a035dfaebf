"""Task-run state history in the table.

Access patterns:
- history of one task run, oldest first .. PK=TASK_RUN#<task_run_id>, SK=STATE#<timestamp>#<state_id>
  (same partition as the run, so history reads are strongly consistent and a run's
  delete finds its states with one Query)
- one state by id ......................... GSI1PK=TASK_RUN_STATE#<state_id>, GSI1SK=#
- idempotent write: the key is derived from (task run, timestamp, state id), so the
  same event recorded twice rewrites the same item (BatchWriteItem, 25 states a call).
- state ids of a run in a time range .... the history Query above with SK between STATE#<since>
  and STATE#<until>, ids read from the sort key: a state recorded from a client event has the
  event's id and timestamp (= its `occurred`), so this indexes the run's client events by
  resource for shared/storage/events.py (kept at least as long as the events: retention.history_expiry).
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from shared.schemas.states import State
from shared.storage import observed_states, store
from shared.storage.keys import decode, key, sortable_time
from shared.storage.retention import history_expiry
from shared.storage.table import TableItem

ENTITY = "task_run_state"
STATE_SK_PREFIX = "STATE#"


def run_key(task_run_id: UUID | str) -> str:
    return key("TASK_RUN", task_run_id)


def to_item(task_run_id: UUID, state: State) -> TableItem:
    return TableItem(
        run_key(task_run_id),
        f"{STATE_SK_PREFIX}{sortable_time(state.timestamp)}#{state.id}",
        entity=ENTITY,
        body=state.model_dump_json(),
        state_id=str(state.id),
        state_timestamp=sortable_time(state.timestamp),
        expires_at=history_expiry(state),
        GSI1PK=key("TASK_RUN_STATE", state.id),
        GSI1SK="#",
    )


def record_many(states: Iterable[tuple[UUID, State]]) -> int:
    """History items for a batch of states; replays rewrite the same item (keyed by state id)."""
    states = list(states)
    written = store.batch_put(to_item(task_run_id, state) for task_run_id, state in states)
    observed_states.note(state for _, state in states)
    return written


def read(state_id: UUID) -> State | None:
    for item in store.query(key("TASK_RUN_STATE", state_id), index="GSI1", limit=1):
        return decode(item, State)
    return None


def read_for_run(task_run_id: UUID) -> list[State]:
    return [decode(item, State) for item in store.query(run_key(task_run_id), sk_prefix=STATE_SK_PREFIX)]


def state_ids(task_run_id: UUID, since: str, until: str) -> list[UUID]:
    """Ids of the run's history states with a sortable timestamp in [since, until], oldest first."""
    items = store.query(run_key(task_run_id), sk_gte=f"{STATE_SK_PREFIX}{since}", sk_lte=f"{STATE_SK_PREFIX}{until}")
    return [state_id(item) for item in items]


def state_id(item: TableItem) -> UUID:
    """The id of a history item's state, from its sort key (STATE#<timestamp>#<state id>)."""
    return UUID(item.SK.rsplit("#", 1)[1])


def history_items(task_run_id: UUID) -> list[TableItem]:
    """Every history item of a run (for deletes)."""
    return list(store.query(run_key(task_run_id), sk_prefix=STATE_SK_PREFIX))
