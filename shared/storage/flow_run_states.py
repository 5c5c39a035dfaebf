"""Flow run states (the state history) in the table.

Access patterns:
- history of a run, oldest first .. PK=FLOW_RUN#<run_id>, SK begins_with STATE#
                                    (SK=STATE#<sortable timestamp>#<state_id>; same partition
                                    as the run, so one strongly consistent Query)
- read a state by id .............. GSI1PK=FLOW_RUN_STATE#<state_id>, GSI1SK=#
                                    (GET /flow_run_states/{id}; ids are not derivable from the run)
- the run's state events by resource: a state's id is its `prefect.flow-run.<State>` event's id,
                                    so the history is that event's by-resource index (events.py);
                                    kept at least as long as the event (retention.history_expiry)

A state item is written right after the conditional write of the run item that points at
it (see flow_runs._write_state_change; in the same transaction when other items commit with
it), and `history` adds the run's current state if that second write never happened, so
history and the run's current state never disagree.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.schemas.states import State
from shared.storage import store
from shared.storage.errors import ItemTooLarge
from shared.storage.keys import decode, key, sortable_time
from shared.storage.retention import history_expiry
from shared.storage.table import TableItem

ENTITY = "flow_run_state"
STATE_PREFIX = "STATE#"
# DynamoDB rejects items over 400 KB; keep room for keys and attributes.
MAX_BODY_BYTES = 380 * 1024


def checked_body(body: str, what: str) -> str:
    """The body, or ItemTooLarge (a 413) instead of DynamoDB's ValidationException (a 500)."""
    size = len(body.encode())
    if size > MAX_BODY_BYTES:
        raise ItemTooLarge(f"The {what} is too large to store ({size:,} bytes; the limit is {MAX_BODY_BYTES:,}).")
    return body


class StoredState(BaseModel):
    """A state item's body: the state plus its run (the by-id index needs the owner)."""

    model_config: ClassVar[ConfigDict] = ConfigDict(defer_build=True)  # built on first use (cold start)
    flow_run_id: UUID
    state: State


def run_key(run_id: UUID | str) -> str:
    return key("FLOW_RUN", run_id)


def _by_id_key(state_id: UUID | str) -> str:
    return key("FLOW_RUN_STATE", state_id)


def to_item(run_id: UUID, state: State) -> TableItem:
    return TableItem(
        run_key(run_id),
        f"{STATE_PREFIX}{sortable_time(state.timestamp)}#{state.id}",
        entity=ENTITY,
        body=checked_body(StoredState(flow_run_id=run_id, state=state).model_dump_json(), "flow run state"),
        state_id=str(state.id),
        state_timestamp=sortable_time(state.timestamp),
        # It indexes the run's state event by resource (events.py): kept at least as long as that event.
        expires_at=history_expiry(state),
        GSI1PK=_by_id_key(state.id),
        GSI1SK="#",
    )


def read(state_id: UUID) -> State | None:
    for item in store.query(_by_id_key(state_id), index="GSI1", limit=1):
        return decode(item, StoredState).state
    return None


class _CurrentState(BaseModel):
    """The part of a run item's body that history needs."""

    model_config: ClassVar[ConfigDict] = ConfigDict(defer_build=True)  # built on first use (cold start)
    state: State | None = None


def history(run_id: UUID) -> list[State]:
    """Every state of the run, ordered by timestamp (as the reference returns them).

    The run item is read too: its current state is written first and its history item right
    after (flow_runs._write_state_change), so a writer that died in between leaves the current
    state only on the run, and it is added here."""
    states = [decode(item, StoredState).state for item in store.query(run_key(run_id), sk_prefix=STATE_PREFIX)]
    run_item = store.get(run_key(run_id))
    current = decode(run_item, _CurrentState).state if run_item is not None else None
    if current is not None and all(state.id != current.id for state in states):
        states.append(current)
        states.sort(key=lambda state: state.timestamp)
    return states


def state_ids(run_id: UUID, since: str, until: str) -> list[UUID]:
    """Ids of the run's history states with a sortable timestamp in [since, until], oldest first."""
    items = store.query(run_key(run_id), sk_gte=f"{STATE_PREFIX}{since}", sk_lte=f"{STATE_PREFIX}{until}")
    return [state_id(item) for item in items]


def state_id(item: TableItem) -> UUID:
    """The id of a history item's state, from its sort key (STATE#<timestamp>#<state id>)."""
    return UUID(item.SK.rsplit("#", 1)[1])


def history_items(run_id: UUID) -> list[TableItem]:
    """Raw items, for deleting a run with its history."""
    return list(store.query(run_key(run_id), sk_prefix=STATE_PREFIX))
