"""State type/name pairs observed in flow and task run transitions (`GET /observed-states`).

The reference aggregates its whole state history on every read; we have no index over all
history (and a Scan is not allowed), so each pair keeps two small items, written after a
state is stored:
- `PK=OBSERVED_STATE#<TYPE>#<name>`, `SK=#META`: `state_timestamp` = last seen (put only if
  newer), body {"state_type", "state_name"}, listed by `GSI1PK=OBSERVED_STATES`,
  `GSI1SK=<TYPE>#<name>`;
- same PK, `SK=FIRST`: `state_timestamp` = first seen (put only if older).
Writes are conditional puts (no read). Each process writes a pair at most once a minute
(`THROTTLE`), so busy runs add no cost per transition: `last_seen` may trail the newest
transition by up to that long. Deleting runs does not move the bounds (the reference's,
recomputed from retained history, can move).

Reads: one Query on GSI1 (a few dozen pairs) + BatchGetItem of their FIRST items.
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
from collections.abc import Iterable

from shared.schemas.observed_states import ObservedState, ObservedStateSort
from shared.schemas.states import State
from shared.storage import store
from shared.storage.errors import ConcurrentUpdate, StorageError
from shared.storage.keys import key, sortable_time
from shared.storage.table import TableItem

logger = logging.getLogger("serverflow.storage.observed_states")

ENTITY = "observed_state"
ALL_PAIRS = "OBSERVED_STATES"
FIRST = "FIRST"
THROTTLE = datetime.timedelta(seconds=60)

_written: dict[tuple[str, str], datetime.datetime] = {}
_lock = threading.Lock()


def _pk(state_type: str, state_name: str) -> str:
    return key("OBSERVED_STATE", f"{state_type}#{state_name}")


def _due(pair: tuple[str, str], stamp: datetime.datetime) -> bool:
    """Whether this process should write the pair for a state at `stamp` (and mark it written)."""
    with _lock:
        last = _written.get(pair)
        if last is not None and last <= stamp < last + THROTTLE:
            return False
        _written[pair] = stamp if last is None else max(last, stamp)
        return True


def _write(state_type: str, state_name: str, stamp: datetime.datetime) -> None:
    pk, at = _pk(state_type, state_name), sortable_time(stamp)
    latest = TableItem(
        pk,
        store.META,
        entity=ENTITY,
        body=json.dumps({"state_type": state_type, "state_name": state_name}),
        state_timestamp=at,
        GSI1PK=ALL_PAIRS,
        GSI1SK=f"{state_type}#{state_name}",
    )
    earliest = TableItem(pk, FIRST, entity=ENTITY, state_timestamp=at)
    for item, condition in (
        (latest, TableItem.PK.does_not_exist() | (TableItem.state_timestamp < at)),
        (earliest, TableItem.PK.does_not_exist() | (TableItem.state_timestamp > at)),
    ):
        try:
            store.put(item, condition)
        except ConcurrentUpdate:
            pass  # the stored bound is already wider


def note(states: Iterable[State | None]) -> None:
    """Record states that were just stored. Never fails the caller: the transition is committed."""
    for state in states:
        if state is None or state.timestamp is None:
            continue
        pair = (state.type.value, state.name or "")
        if not _due(pair, state.timestamp):
            continue
        try:
            _write(*pair, state.timestamp)
        except StorageError:  # e.g. a state name too long for a key
            logger.warning("Could not record observed state %s", pair, exc_info=True)
        except Exception:
            logger.exception("Could not record observed state %s", pair)


def _parse(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    return datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.UTC)


def read(query: str | None, order_by: ObservedStateSort, limit: int) -> list[ObservedState]:
    latest = list(store.query(ALL_PAIRS, index="GSI1"))
    firsts = {item.PK: item.state_timestamp for item in store.batch_get((item.PK, FIRST) for item in latest)}
    prefix = (query or "").strip().lower()
    found = []
    for item in latest:
        pair = json.loads(item.body or "{}")
        state_type, state_name = pair.get("state_type", ""), pair.get("state_name", "")
        if prefix and not (state_type.lower().startswith(prefix) or state_name.lower().startswith(prefix)):
            continue
        last_seen = _parse(item.state_timestamp)
        first_seen = _parse(firsts.get(item.PK)) or last_seen
        if last_seen is None or first_seen is None:
            continue
        found.append(
            ObservedState(state_type=state_type, state_name=state_name, first_seen=first_seen, last_seen=last_seen)
        )
    found.sort(key=lambda s: (s.state_type, s.state_name))
    if order_by == ObservedStateSort.LAST_SEEN_DESC:
        found.sort(key=lambda s: s.last_seen, reverse=True)  # stable: ties stay in name order
    return found[:limit]
