"""Events in the table, kept for a retention period by DynamoDB TTL.

Access patterns (keys):
- dedupe / read by id ....... PK=EVENT#<id>, SK=#META; written with attribute_not_exists(PK),
                              so a replayed event (client reconnect resend) is stored once
- by occurred time .......... the time feed (event_feed.py): pages of (occurred, id, name) entries that
                              the stream-fed EventFeedFunction writes per batch and minute; a window
                              reads the pages of its minutes, then BatchGets the events it picked
                              (only the returned page's when the entries decide the filter: occurred
                              and names only, no day of the window on GSI2).
                              Events stored before the feed carry GSI2PK=EVENTS#<yyyy-mm-dd>#<shard>,
                              GSI2SK=<occurred>#<id>: read for the days whose marker says so (below)
- days with events .......... PK=EVENT_DAY#<yyyy-mm-dd>, version FEED_ONLY (2): every event of the day is
                              on the feed; FEED_AND_INDEX (1) or none (written before the feed): read the
                              GSI2 time index of that day too
- by event name / prefix .... GSI3PK=EVENT_NAMES#<yyyy-mm-dd>#<shard>, GSI3SK=<event name>#<occurred>#<id>
                              (begins_with(prefix) per day; an exact name uses "<name>#");
                              sparse: `prefect.task-run.*` and `prefect.flow-run.*` events are
                              not in it (names or prefixes that can match them read the time
                              index, which holds every event; items written with GSI3 keys
                              before stay on both)
- by primary resource id .... GSI4PK=EVENT_RESOURCE#<resource id>, GSI4SK=<occurred>#<id>
                              sparse: recordable events (client task-run state events, 3 per task
                              run) are not in it: the run's state history indexes them (below)
- recordable events by run .. the state history of task run <id> (task_run_states.state_ids: the
                              recorder gives each state its event's id and `occurred`), then a
                              BatchGetItem of EVENT#<state id>; read for a resource id
                              `prefect.task-run.<id>` besides the GSI4 Query (non-recordable events
                              of the run, items stored before the index was sparse), deduplicated
- flow-run state events ..... the same through the flow run's history (flow_run_states.state_ids):
                              the server's `prefect.flow-run.<State>` event has its state's id and
                              timestamp and is written with it, so it skips GSI4 as well
- event groups .............. the recordable events of a POST /events batch with UUIDv7 ids (the SDK's): a few
                              compressed items per minute and shard of their ids (event_groups.py) instead of an
                              item each; every read by id (`_stored`) looks the ids no item holds up there
- event references .......... PK=EVENT_REF#<id>, SK=#META, GSI4 keys as above, no body, the event's
                              TTL: put for the recordable events their resource's history cannot
                              find (a dropped malformed event, a run that adopted another id, a
                              deleted task run), so a by-resource read still finds every event
- task-run recorder feed .... stream_feed="task_run" on the events the stream-fed recorder records
                              (the template's FilterCriteria match it: the body is compressed)
- retention ................. expires_at = received + SERVERFLOW_EVENTS_RETENTION_DAYS (default 7);
                              reads also drop expired items (TTL deletes lazily, up to ~48 h late)
No Scan: `query_events` picks the narrowest of these from the filter, bounded by the occurred
window (clamped to the retention period), and evaluates the whole EventFilter in Python.

Between storing a recordable event and the recorder writing its state (the stream, usually well
under a second) a by-resource read does not see it; a read by id does, time-window reads (which
task-run names and `related` filters use) once the time feed has it (below). That lag is the reference's own: its event persister writes events to the database in
batches (every 5 s or 20 events), so its /events/filter and websocket backfill lag the bus too. No
caller reads a task run's events by resource id to act on them: the prefect client's waiters and
subscribers filter by event name or `any_resource`, automations evaluate the stream itself, and the
UI refreshes. An index written at ingestion to close that gap would be the GSI4 copy this saves.
The time feed lags the same way: an event is on it once its stream batch is processed (the feed
function's batching window, ~1-2 s); time-window reads (no name, or names the name index leaves out)
see it then. Reads by id, by resource (non-recordable events) and by indexed name see it at once.
<shard> = crc32(event id) % TIME_SHARDS / NAME_SHARDS: the day keys are write-sharded.
"""

from __future__ import annotations

import base64
import datetime
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from uuid import UUID

from shared.schemas.events import (
    Countable,
    EventCount,
    EventFilter,
    EventOrder,
    ReceivedEvent,
    TimeUnit,
)
from shared.schemas.types import now_utc
from shared.storage import event_feed, event_groups, flow_run_states, store
from shared.storage import task_run_states as state_store
from shared.storage.errors import ConcurrentUpdate
from shared.storage.keys import all_shards, decode, key, sharded, sortable_time
from shared.storage.retention import events_retention
from shared.storage.table import TableItem

ENTITY = "event"
REF_ENTITY = "event_ref"
# stream_feed of the events the task-run recorder (functions/task_run_recorder) takes from the stream;
# template.yaml's FilterCriteria names the same value.
TASK_RUN_FEED = "task_run"
# Reference: counts bucket time from this pivot (the Monday before the first possible event).
PIVOT = datetime.datetime(2024, 4, 1, tzinfo=datetime.UTC)
MAX_BUCKETS = 1000


class InvalidPageToken(ValueError):
    """A page token that does not decode (HTTP 403, as the reference)."""


class InvalidCountParameters(ValueError):
    """count-by parameters the reference rejects with 422."""


# --- keys ----------------------------------------------------------------------------

# Primary resources whose state events their run's state history indexes (the state id is the event id).
TASK_RUN_RESOURCE_PREFIX = "prefect.task-run."
FLOW_RUN_RESOURCE_PREFIX = "prefect.flow-run."


def _day(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%d")


# Names left out of the by-name index: the client's task-run state events are most of all
# events (three per task run), and the server's flow-run state events are three per flow run, so
# indexing them by name would bill a write each and load the day's name partition for names that a
# query can as well find on the time index.
UNINDEXED_NAME_PREFIXES = ("prefect.task-run.", "prefect.flow-run.")


# Write shards of the day partitions (keys.sharded by event id): at 10,000 task runs/s and 1,000
# flow runs/s the time index took ~34,000 events/s (events stored before the time feed still have those
# keys) and the name index takes ~4,000 (flow-run and other events); DynamoDB serves 1,000 WCU/s per key.
# Readers query every shard of each day.
TIME_SHARDS = 40
NAME_SHARDS = 8


def _name_indexed(name: str) -> bool:
    return not name.startswith(UNINDEXED_NAME_PREFIXES)


def _prefix_may_match_unindexed(prefix: str) -> bool:
    """A name prefix some unindexed name can start with (`prefect.`, `prefect.flow-run`, `prefect.task-run.x`)."""
    return any(prefix.startswith(u) or u.startswith(prefix) for u in UNINDEXED_NAME_PREFIXES)


# Days that hold events: PK=EVENT_DAY#<yyyy-mm-dd>, written before an event of that day is
# stored (by each process at most once an hour, its TTL pushed on), so a read queries the
# partitions of the days that have events only (the default window spans the whole retention
# period, ~10 days). Its `version` says where the day's events are found by time: FEED_ONLY, the
# time feed; anything else (FEED_AND_INDEX, or no version: a marker written before the feed) the
# GSI2 time index as well. A marker goes FEED_ONLY only when it is new, so a day that already had
# events (on GSI2) keeps reading GSI2; a marker put by code from before the feed (during a
# deployment) drops the version, which reads both again: never fewer places than needed.
DAY_MARKER_REFRESH = datetime.timedelta(hours=1)
FEED_ONLY, FEED_AND_INDEX = 2, 1
_marked_days: dict[str, datetime.datetime] = {}
_marked_lock = threading.Lock()


def _mark_day(day: str) -> None:
    now = now_utc()
    with _marked_lock:
        last = _marked_days.get(day)
        if last is not None and now - last < DAY_MARKER_REFRESH:
            return
    expires = int((now + events_retention() + FUTURE_SKEW + DAY_MARKER_REFRESH).timestamp())
    marker = TableItem(key("EVENT_DAY", day), store.META)

    def actions(version: int) -> list[object]:
        return [TableItem.entity.set("event_day"), TableItem.expires_at.set(expires), TableItem.version.set(version)]

    try:
        store.update(marker, actions(FEED_ONLY), TableItem.PK.does_not_exist() | (TableItem.version == FEED_ONLY))
    except ConcurrentUpdate:
        # Marked before the feed existed (or FEED_AND_INDEX already): the day has events on GSI2.
        store.update(marker, actions(FEED_AND_INDEX))
    with _marked_lock:
        _marked_days[day] = now


def _days_with_events(days: list[str]) -> dict[str, bool]:
    """The days of `days` that have events, each with whether its events may be on the GSI2 time index."""
    markers = store.batch_get((key("EVENT_DAY", d), store.META) for d in days)
    legacy = {item.PK.split("#", 1)[1]: item.version != FEED_ONLY for item in markers}
    return {d: legacy[d] for d in days if d in legacy}


def _resource_keys(event: ReceivedEvent) -> tuple[str, str]:
    return key("EVENT_RESOURCE", event.resource.id), f"{sortable_time(event.occurred)}#{event.id}"


def _run_id(resource_id: str, prefix: str) -> UUID | None:
    if not resource_id.startswith(prefix):
        return None
    try:
        return UUID(resource_id.removeprefix(prefix))
    except ValueError:
        return None


_expires_at = event_feed.expires_at


def to_item(event: ReceivedEvent, *, recordable: bool = False, in_history: bool = False) -> TableItem:
    """The event's item; `recordable` ones carry the task-run recorder's stream feed tag. `in_history`: a flow
    run's state event, written with the history state of the same id (flow_runs), which indexes it by resource."""
    occurred = sortable_time(event.occurred)
    day = _day(event.occurred)
    _mark_day(day)  # before the item can be stored (callers write it, here or in their transaction)
    item = TableItem(
        key("EVENT", event.id),
        store.META,
        entity=ENTITY,
        body=event.model_dump_json(),
        expires_at=_expires_at(event),
        # No GSI2 (time) keys: the stream-fed feed function pages its INSERT (event_feed.py).
        stream_feed=TASK_RUN_FEED if recordable else None,
    )
    if not (recordable or in_history):
        # A recordable event becomes a state of its task run under its own id, a flow run's state event is
        # written with its state: that history indexes it by resource (see _by_resource), so it skips this
        # copy (a WRU per event: three per task run, three per flow run).
        item.GSI4PK, item.GSI4SK = _resource_keys(event)
    if _name_indexed(event.event):
        item.GSI3PK = sharded(key("EVENT_NAMES", day), event.id, NAME_SHARDS)
        item.GSI3SK = f"{event.event}#{occurred}#{event.id}"
    return item


# --- writes --------------------------------------------------------------------------


def write(event: ReceivedEvent) -> bool:
    """Store an event once; False if its id was already stored (a duplicate delivery)."""
    return store.put_if_absent(to_item(event))


def write_many(
    events: Iterable[ReceivedEvent],
    recordable: Callable[[ReceivedEvent], bool] | None = None,
    *,
    grouped: bool = False,
) -> int:
    """Store a batch with BatchWriteItem; a re-delivered event overwrites its own item (same id). Returns how many
    items were written.

    Events for which `recordable` says yes are tagged for the stream-fed task-run recorder: storing them is
    the whole acknowledgement, the recorder builds their task runs from the table's stream. `grouped` (a
    client's batch, POST /events): of those, the ones an item would store without index keys and that have a
    UUIDv7 id go into event groups (event_groups.py), a fraction of a write unit each instead of one (the same
    batch retried rewrites the same groups, as it rewrites its items).
    """
    in_groups: list[ReceivedEvent] = []
    items: list[TableItem] = []
    for event in events:
        is_recordable = bool(recordable and recordable(event))
        if grouped and is_recordable and _groupable(event):
            in_groups.append(event)
        else:
            items.append(to_item(event, recordable=is_recordable))
    for day in {_day(event.occurred) for event in in_groups}:
        _mark_day(day)  # before its events can be stored, as to_item does
    # One BatchWriteItem for up to 25 items and groups: a batch's groups reach the stream together (event_groups.py).
    return store.batch_put([*event_groups.groups(in_groups, TASK_RUN_FEED), *items])


def _groupable(event: ReceivedEvent) -> bool:
    """Whether a recordable event may be stored in a group: its item would have no index keys (recordable: off the
    by-resource index; its name off the name index), so reads by id and the stream find it, and its id is a
    UUIDv7, which tells its group's partition."""
    return not _name_indexed(event.event) and event_groups.partition(event.id) is not None


def _ref_item(event: ReceivedEvent) -> TableItem:
    gsi4pk, gsi4sk = _resource_keys(event)
    return TableItem(
        key("EVENT_REF", event.id),
        store.META,
        entity=REF_ENTITY,
        expires_at=_expires_at(event),
        GSI4PK=gsi4pk,
        GSI4SK=gsi4sk,
    )


def index_by_resource(events: Iterable[ReceivedEvent]) -> int:
    """Reference recordable events on the by-resource index that their resource's history will not find: the
    recorder dropped them (malformed) or recorded them into another run's history (an adopted id).

    Separate items (~100 bytes, 1 WRU + 1 GSI4 copy), not GSI4 keys on the event: a resent event overwrites
    its own item, and would drop them again.
    """
    return store.batch_put(_ref_item(event) for event in events)


def keep_findable(resource_id: str, state_ids: Iterable[UUID]) -> int:
    """Before a run's history is deleted (`resource_id`: prefect.task-run.<id> or prefect.flow-run.<id>):
    reference its state events that only that history indexed."""
    items, grouped = _stored(state_ids, consistent=True)
    # Grouped events are never on the by-resource index; items are unless their history indexed them.
    unindexed = [*(decode(item, ReceivedEvent) for item in items if not item.GSI4PK), *grouped]
    return store.batch_put(_ref_item(event) for event in unindexed if event.resource.id == resource_id)


def _stored(event_ids: Iterable[UUID], *, consistent: bool) -> tuple[list[TableItem], list[ReceivedEvent]]:
    """The stored events of these ids: the items found (a BatchGetItem), then the unexpired events in groups of
    the ids no item holds (event_groups.find: a Query per group partition). `consistent=False` for ids that
    come from an eventually consistent source (their items never change once written)."""
    wanted = list(dict.fromkeys(event_ids))
    items = store.batch_get(((key("EVENT", i), store.META) for i in wanted), consistent=consistent)
    found = {item.PK for item in items}
    return items, list(event_groups.find(i for i in wanted if key("EVENT", i) not in found))


def _live(items: Iterable[TableItem]) -> Iterator[ReceivedEvent]:
    """The events of event items, leaving out expired ones (TTL deletes lazily, up to ~48 h late)."""
    now_epoch = time.time()
    for item in items:
        if item.expires_at is None or item.expires_at >= now_epoch:
            yield decode(item, ReceivedEvent)


def _by_ids(event_ids: Iterable[UUID], *, consistent: bool = True) -> Iterator[ReceivedEvent]:
    """The unexpired stored events of these ids, items or grouped, each once, in no particular order."""
    items, grouped = _stored(event_ids, consistent=consistent)
    yield from _live(items)
    yield from grouped


def read(event_id: UUID) -> ReceivedEvent | None:
    return next(_by_ids([event_id]), None)


# --- queries -------------------------------------------------------------------------


def _days(since: datetime.datetime, until: datetime.datetime) -> list[str]:
    first = since.astimezone(datetime.UTC).date()
    last = until.astimezone(datetime.UTC).date()
    return [(first + datetime.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


FUTURE_SKEW = datetime.timedelta(days=1)


def _window(event_filter: EventFilter) -> tuple[datetime.datetime, datetime.datetime]:
    # Nothing older than the retention period exists, so never query days before it.
    now = now_utc()
    since = max(event_filter.occurred.since, now - events_retention() - datetime.timedelta(days=2))
    # Events are stored per day, so a far-future `until` would mean millions of empty day
    # partitions; clients stamp events with their own clock, so a day of skew is ample.
    until = min(event_filter.occurred.until, now + FUTURE_SKEW)
    return since, until


def _candidates(event_filter: EventFilter) -> Iterator[ReceivedEvent]:
    """Unexpired events among which every match is (an event may come twice)."""
    since, until = _window(event_filter)
    if since > until:
        return
    lo, hi = sortable_time(since), sortable_time(until) + "~"
    hints = event_filter.index_hints()
    if "id" in hints:
        yield from _by_ids(hints["id"])
        return
    if "resource_id" in hints:
        for resource_id in dict.fromkeys(hints["resource_id"]):
            yield from _by_resource(resource_id, lo, hi)
        return
    prefixes = _name_prefixes(event_filter)
    days = _days_with_events(_days(since, until))
    # Every shard of every day at once (store.query_shards sends the Queries concurrently).
    if prefixes is None:
        yield from _by_time(event_filter, days, lo, hi)
    else:
        pks = [pk for day in days for pk in all_shards(key("EVENT_NAMES", day), NAME_SHARDS)]
        for prefix in prefixes:
            yield from _live(store.query_shards(pks, index="GSI3", sk_prefix=prefix))


def _by_time(event_filter: EventFilter, days: dict[str, bool], lo: str, hi: str) -> Iterator[ReceivedEvent]:
    """The events in [lo, hi]: the time feed's entries whose name the filter can take, then their items; plus,
    for days marked before the feed, the GSI2 time index."""
    picked = [entry.id for entry in _feed_entries(event_filter, days, lo, hi)]
    # Eventually consistent: an event item is written before its stream record pages it, and never changes.
    yield from _by_ids(picked, consistent=False)
    legacy = [pk for day, on_index in days.items() if on_index for pk in all_shards(key("EVENTS", day), TIME_SHARDS)]
    yield from _live(store.query_shards(legacy, index="GSI2", sk_gte=lo, sk_lte=hi))


def _feed_entries(event_filter: EventFilter, days: Iterable[str], lo: str, hi: str) -> Iterator[event_feed.FeedEntry]:
    names = event_filter.event
    return (e for e in event_feed.entries(days, lo, hi) if names is None or names.includes(e.name))


def _decided_by_feed(event_filter: EventFilter) -> list[event_feed.FeedEntry] | None:
    """The matches in order, from the time feed's entries alone, when they decide the filter: criteria on
    occurred and names only (read by time), and every day of the window on the feed only. None otherwise.

    The commonest reads (the UI's event feed and its chart, a backfill by name) then fetch only the events of
    the page they return, instead of every event of the window."""
    if event_filter.resource or event_filter.related or event_filter.any_resource or event_filter.text:
        return None
    if event_filter.id.id or _name_prefixes(event_filter) is not None:
        return None  # read by id or on the name index
    since, until = _window(event_filter)
    if since > until:
        return []
    days = _days_with_events(_days(since, until))
    if any(days.values()):
        return None  # a day with events on GSI2 (stored before the feed)
    found = {e.id: e for e in _feed_entries(event_filter, days, sortable_time(since), sortable_time(until) + "~")}
    return sorted(found.values(), key=lambda e: (e.occurred, str(e.id)), reverse=event_filter.order == EventOrder.DESC)


def _events_of(entries: list[event_feed.FeedEntry]) -> list[ReceivedEvent]:
    """The events the entries name, in their order (eventually consistent, as in _by_time)."""
    found = {event.id: event for event in _by_ids((e.id for e in entries), consistent=False)}
    return [found[e.id] for e in entries if e.id in found]


def _page_of_matches(event_filter: EventFilter, offset: int, size: int) -> tuple[list[ReceivedEvent], int]:
    """Matches [offset, offset + size) and how many match in all."""
    entries = _decided_by_feed(event_filter)
    if entries is not None:
        return _events_of(entries[offset : offset + size]), len(entries)
    events = _matching(event_filter)
    return events[offset : offset + size], len(events)


def _by_resource(resource_id: str, lo: str, hi: str) -> Iterator[ReceivedEvent]:
    """The events of one primary resource in [lo, hi]: GSI4 (events and references), plus, for a task run,
    the recordable events its state history indexes (items or grouped); each event item once."""
    events: list[TableItem] = []
    to_get: list[UUID] = []
    for item in store.query(key("EVENT_RESOURCE", resource_id), index="GSI4", sk_gte=lo, sk_lte=hi):
        if item.entity == REF_ENTITY:
            to_get.append(UUID(item.PK.split("#", 1)[1]))
        else:
            events.append(item)
    # Every state id is read once: a state of no event (a task run's set over REST) is not found, an event
    # both here and on GSI4 (stored before the index was sparse) was found there already.
    task_run_id = _run_id(resource_id, TASK_RUN_RESOURCE_PREFIX)
    if task_run_id is not None:
        to_get.extend(state_store.state_ids(task_run_id, lo, hi))
    flow_run_id = _run_id(resource_id, FLOW_RUN_RESOURCE_PREFIX)
    if flow_run_id is not None:
        to_get.extend(flow_run_states.state_ids(flow_run_id, lo, hi))
    found = {item.PK for item in events}
    yield from _live(events)
    yield from _by_ids(i for i in to_get if key("EVENT", i) not in found)


def _name_prefixes(event_filter: EventFilter) -> list[str] | None:
    """Sort-key prefixes on the name index that cover every match (None: use the time index)."""
    names = event_filter.event
    if names is None:
        return None
    if names.name:
        if not all(_name_indexed(n) for n in names.name):
            return None  # task-run and flow-run events are on the time index only
        return [f"{n}#" for n in dict.fromkeys(names.name)]
    if names.prefix:
        if "" in names.prefix:
            # Every name starts with "": read the time index (DynamoDB refuses begins_with on "", a 500 before).
            return None
        if any(_prefix_may_match_unindexed(p) for p in names.prefix):
            return None  # a prefix that can match task-run or flow-run events: the time index holds them
        # Overlapping prefixes would read items twice; keep the shortest of each family.
        kept: list[str] = []
        for prefix in sorted(set(names.prefix), key=len):
            if not any(prefix.startswith(k) for k in kept):
                kept.append(prefix)
        return kept
    return None


def _matching(event_filter: EventFilter) -> list[ReceivedEvent]:
    seen: set[UUID] = set()
    found: list[ReceivedEvent] = []
    for event in _candidates(event_filter):
        if event.id in seen or not event_filter.matches(event):
            continue
        seen.add(event.id)
        found.append(event)
    key_fn, reverse = event_filter.sort_key()
    found.sort(key=key_fn, reverse=reverse)
    if event_filter.resource is not None and event_filter.resource.distinct:
        found = _latest_per_resource(found, event_filter.order)
    return found


def _latest_per_resource(events: list[ReceivedEvent], order: EventOrder) -> list[ReceivedEvent]:
    # The reference keeps the first row per resource in `order` (row_number() = 1).
    seen: set[str] = set()
    kept = []
    for event in events:
        if event.resource.id not in seen:
            seen.add(event.resource.id)
            kept.append(event)
    return kept


def _page_token(event_filter: EventFilter, count: int, page_size: int, offset: int) -> str | None:
    if offset + page_size >= count:
        return None
    raw = json.dumps(
        {
            "filter": event_filter.model_dump(mode="json"),
            "count": count,
            "page_size": page_size,
            "offset": offset + page_size,
        }
    )
    return base64.b64encode(raw.encode()).decode()


def query_events(event_filter: EventFilter, page_size: int) -> tuple[list[ReceivedEvent], int, str | None]:
    """First page, total and the token of the next page (as the reference's query_events)."""
    events, total = _page_of_matches(event_filter, 0, page_size)
    return events, total, _page_token(event_filter, total, page_size, 0)


def query_next_page(page_token: str) -> tuple[list[ReceivedEvent], int, str | None]:
    try:
        params = json.loads(base64.b64decode(page_token))
        event_filter = EventFilter.model_validate(params["filter"])
        count, page_size, offset = int(params["count"]), int(params["page_size"]), int(params["offset"])
    except Exception as exc:  # any malformed token means "nothing for you"
        raise InvalidPageToken("Unable to parse page token") from exc
    events, _ = _page_of_matches(event_filter, offset, page_size)
    return events, count, _page_token(event_filter, count, page_size, offset)


# --- counting ------------------------------------------------------------------------


def _end_of_period(moment: datetime.datetime, unit: TimeUnit) -> datetime.datetime:
    moment = moment.astimezone(datetime.UTC)
    if unit == TimeUnit.second:
        start = moment.replace(microsecond=0)
        step = datetime.timedelta(seconds=1)
    elif unit == TimeUnit.minute:
        start = moment.replace(second=0, microsecond=0)
        step = datetime.timedelta(minutes=1)
    elif unit == TimeUnit.hour:
        start = moment.replace(minute=0, second=0, microsecond=0)
        step = datetime.timedelta(hours=1)
    elif unit == TimeUnit.day:
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        step = datetime.timedelta(days=1)
    else:
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0) - datetime.timedelta(days=moment.weekday())
        step = datetime.timedelta(days=7)
    return start + step - datetime.timedelta(microseconds=1)


def _validate_buckets(since: datetime.datetime, until: datetime.datetime, unit: TimeUnit, interval: float) -> None:
    if interval < 0.01:
        raise InvalidCountParameters("The minimum interval is 0.01")
    try:
        delta = unit.as_timedelta(interval)
    except (OverflowError, ValueError):  # past timedelta's range (~2.7 million years), or "Infinity"
        raise InvalidCountParameters(
            f"The interval is too large: at most {datetime.timedelta.max.total_seconds():.0f} seconds in all"
        ) from None
    buckets = math.ceil((until - since) / delta)
    if buckets > MAX_BUCKETS:
        raise InvalidCountParameters(
            f"The given interval would create {buckets} buckets, which is too many. Please increase the "
            f"interval or reduce the time range to produce {MAX_BUCKETS} buckets or fewer."
        )


def _time_counts(
    occurred: list[datetime.datetime], event_filter: EventFilter, unit: TimeUnit, interval: float
) -> list[EventCount]:
    since, until = event_filter.occurred.since, event_filter.occurred.until
    _validate_buckets(since, until, unit, interval)
    delta = unit.as_timedelta(interval)
    now = now_utc()
    end = _end_of_period(now, unit) if until > now else until
    first = math.floor((since - PIVOT) / delta)
    counts: list[EventCount] = []
    try:
        start = PIVOT + delta * first
        while start < end:
            counts.append(
                EventCount(
                    value=str(first + len(counts)),
                    label=start.isoformat(),
                    count=0,
                    start_time=start,
                    end_time=start + delta - datetime.timedelta(microseconds=1),
                )
            )
            start = start + delta
    except OverflowError:
        # Buckets are aligned to PIVOT: one starting before year 1 or ending after 9999 is no datetime.
        raise InvalidCountParameters(
            "The time buckets would fall outside the supported datetimes (years 1-9999); "
            "narrow the occurred range or use a smaller interval."
        ) from None
    for moment in occurred:
        index = math.floor((moment - PIVOT) / delta) - first
        if 0 <= index < len(counts):
            counts[index].count += 1
    return counts


def _grouped_counts(events: list[ReceivedEvent], countable: Countable) -> list[EventCount]:
    groups: dict[str, list[ReceivedEvent]] = {}
    for event in events:
        value = event.event if countable == Countable.event else event.resource.id
        groups.setdefault(value, []).append(event)
    counts = []
    for value, members in groups.items():
        latest = max(members, key=lambda e: e.occurred)
        if countable == Countable.event:
            label = value
        else:
            label = latest.resource.name or latest.resource.id
        counts.append(
            EventCount(
                value=value,
                label=label,
                count=len(members),
                start_time=min(e.occurred for e in members),
                end_time=latest.occurred,
            )
        )
    counts.sort(key=lambda c: (-c.count, c.label))
    return counts


def count_events(
    event_filter: EventFilter, countable: Countable, time_unit: TimeUnit, time_interval: float
) -> list[EventCount]:
    # Validated before reading anything, for every countable, like the reference.
    _validate_buckets(event_filter.occurred.since, event_filter.occurred.until, time_unit, time_interval)
    if countable == Countable.day:
        # The legacy `day` countable is `time` bucketed by one day.
        return _time_counts(_occurred_of_matches(event_filter), event_filter, TimeUnit.day, 1.0)
    if countable == Countable.time:
        return _time_counts(_occurred_of_matches(event_filter), event_filter, time_unit, time_interval)
    return _grouped_counts(_matching(event_filter), countable)


def _occurred_of_matches(event_filter: EventFilter) -> list[datetime.datetime]:
    """When each match occurred: from the time feed's entries where they decide the filter (no event read)."""
    entries = _decided_by_feed(event_filter)
    if entries is not None:
        return [e.occurred_at for e in entries]
    return [e.occurred for e in _matching(event_filter)]
