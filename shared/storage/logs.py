"""Logs in the table.

Logs are write-heavy (the client posts a batch every ~2 s), read by flow run in time order (the UI's
run page), and expire. The lines of one POST that share a flow run (the flow run's own and all its task
runs', each line naming its task run) are stored as group items (log_groups.py: at most 10 s and 64 KB of
JSON each, compressed), written with BatchWriteItem and carrying a TTL: a group costs what its compressed
size costs, not a WRU per line and index copy, and a batch's "Finished in state ..." lines of many task
runs share one group instead of costing each task run a group and its by-task-run index copy.

Access patterns (SK values are `<first line's sortable UTC timestamp>#<first line id>#<digest>`, so a
key-range query returns groups in the order of their keys; a read flattens them into lines in
exact (timestamp, id) order, log_groups.in_order):
- logs of a flow run, by time ... PK=LOGS_FR#<flow_run_id>, SK=<ts>#<id>#<digest>
  (logs without a flow run are grouped per task run and get their group's own partition
  PK=LOG#<first line id>: nothing reads them by flow run, and they must not share one hot "no run" partition)
- logs of a task run, by time ... the task run (read by id) names its flow run and time span: the flow
  run's groups over [earliest recorded time - TASK_RUN_SLACK - WINDOW, end + TASK_RUN_SLACK] (open-ended
  while the run is not final), keeping its lines; merged with GSI1PK=LOGS_TR#<task_run_id>, GSI1SK=SK
  (sparse: groups without a flow run, and the per-(flow run, task run) groups written before flow-run
  grouping). A task run that does not exist has no lines in flow runs' groups: a deleted one's were
  deleted with it, as the reference's; lines naming a never-created task run are read with their flow run.
- all logs, by time ............. the feed (log_feed.py): per request and minute of its groups' first
  lines, one page naming the groups (PK=LOG_FEED#<shard>), written in the groups' BatchWriteItem; a read
  takes the window's pages minute by minute and BatchGets their groups in SK order (and, while items
  written before the feed can be live, merges GSI2PK=LOGS#<shard> in).
- a timestamp range ............. the key range from `after_` - log_groups.WINDOW (a group starting
  up to WINDOW earlier may hold lines in range) to `before_`; each line is then checked by the filter.
- delete a flow run's logs ...... query PK=LOGS_FR#<flow_run_id>, BatchWriteItem deletes
- delete a task run's logs ...... its GSI1 groups (one task run's lines each) deleted whole; in its flow run's
  groups over its span, its lines cut out: each group rewritten under its key (deleted if emptied),
  conditional on the group's `version`, re-read and retried on a concurrent change (`_cut`)
- level / name / text / task_run_id is_null_ filters are evaluated in Python on the
  streamed lines; reading stops as soon as offset+limit matches are found.

Ids: a line's id is a new UUIDv7 (`build`): every POST stores its lines, as the
reference does (two identical lines in two requests are two logs); reads keep each id once.

Items of one line each (entity `log`, SK=<ts>#<id>, written before groups) are read as groups of one.

Retention: `expires_at` = ingest time + SERVERFLOW_LOG_RETENTION_DAYS (default 7,
read per request so it can be changed without a deploy of code). DynamoDB's TTL
sweep deletes lazily (up to ~2 days late), so reads also drop expired items.
It counts from ingest, not from the log's own timestamp, so back-dated logs are
still kept for the full retention period.

Size: a DynamoDB item is capped at 400 KB. A message whose JSON would make one log exceed
MAX_LOG_ITEM_BYTES is truncated and ends with TRUNCATION_MARKER, which says how many characters
were cut (such a line is then a group of its own, so filters and limits work on whole logs). NUL
characters are stripped and lone surrogates replaced, as the reference does for PostgreSQL, because
DynamoDB rejects invalid UTF-8.
"""

from __future__ import annotations

import datetime
import heapq
import os
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from itertools import islice
from uuid import UUID

from shared.schemas.base import now_utc
from shared.schemas.filters.logs import LogFilter
from shared.schemas.logs import Log, LogCreate
from shared.schemas.sorting import LogSort, apply_sort
from shared.schemas.task_runs import TaskRun
from shared.schemas.types import uuid7
from shared.storage import log_feed, log_groups, store
from shared.storage import task_runs as task_run_store
from shared.storage.errors import ConcurrentUpdate
from shared.storage.keys import epoch_seconds, key, sortable_time
from shared.storage.table import TableItem

DEFAULT_RETENTION_DAYS = 7.0
# Leaves room under DynamoDB's 409,600-byte item limit for keys and attributes.
MAX_LOG_ITEM_BYTES = 350_000
TRUNCATION_MARKER = "... [message truncated by Serverflow: {cut} characters removed]"
# A task run's lines are looked for in its flow run's groups from its earliest recorded time to its end,
# this much wider on each side: lines logged just before its first state or after its final one (the
# "Finished in state" line, hooks), and a client clock (lines) a little off the server's (`created`).
TASK_RUN_SLACK = datetime.timedelta(minutes=1)
# Cutting a deleted task run's lines out of a group retries when another writer changed the group since it
# was read: each retry follows someone else's successful write, so this bounds a burst of concurrent deletes.
MAX_CUT_ATTEMPTS = 25


def retention() -> datetime.timedelta:
    days = float(os.environ.get("SERVERFLOW_LOG_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))
    return datetime.timedelta(days=days)


# --- keys ------------------------------------------------------------------------


def _flow_run_pk(flow_run_id: UUID) -> str:
    return key("LOGS_FR", flow_run_id)


def _task_run_pk(task_run_id: UUID) -> str:
    return key("LOGS_TR", task_run_id)


def _group_item(lines: Sequence[Log], expires_at: int) -> TableItem:
    """The item of a group of lines of one flow run (or, without one, of one task run), keyed as its
    first line. Only groups without a flow run are indexed by task run: a task run's lines in a flow run
    are found through the task run (its flow run and time span, `_task_run_streams`)."""
    first = lines[0]
    sk = log_groups.sort_key(lines)
    item = TableItem(
        _flow_run_pk(first.flow_run_id) if first.flow_run_id else key("LOG", first.id),
        sk,
        entity=log_groups.GROUP_ENTITY,
        body=log_groups.body(lines),
        expires_at=expires_at,
    )
    if first.flow_run_id is None and first.task_run_id is not None:
        item.GSI1PK = _task_run_pk(first.task_run_id)
        item.GSI1SK = sk
    return item


def _group_of(log: Log) -> tuple[UUID | None, UUID | None]:
    """What a line is grouped by: its flow run, or without one its task run."""
    return (log.flow_run_id, None) if log.flow_run_id is not None else (None, log.task_run_id)


# --- writes ----------------------------------------------------------------------


def _clean(text: str) -> str:
    text = text.replace("\x00", "")
    # Lone surrogates (valid in JSON "\ud800", invalid in UTF-8) would make the write fail.
    return text.encode("utf-8", "replace").decode("utf-8")


def _fit(log: Log) -> Log:
    """The log, its message truncated (with a marker) so that its JSON fits one item alone."""
    size = len(log.model_dump_json().encode("utf-8"))
    message, fitted = log.message, log
    while size > MAX_LOG_ITEM_BYTES:
        # Every character costs at least one byte, so cutting `excess` characters
        # (plus the marker) converges in a few rounds even for multi-byte text.
        excess = size - MAX_LOG_ITEM_BYTES
        marker_room = len(TRUNCATION_MARKER) + 12
        keep = max(0, len(message) - excess - marker_room)
        message = message[:keep]
        cut = len(log.message) - keep
        fitted = log.model_copy(update={"message": message + TRUNCATION_MARKER.format(cut=cut)})
        size = len(fitted.model_dump_json().encode("utf-8"))
    return fitted


def build(creates: Sequence[LogCreate], stamp: datetime.datetime) -> list[Log]:
    """The logs of a request, each with a new id (UUIDv7), as the reference gives every stored log. Every
    POST stores its lines: two identical lines sent in two requests (or a retried POST) are two logs each;
    deduplicating them by content would drop a line the server had acknowledged."""
    logs = []
    for create in creates:
        logs.append(
            Log(
                **create.model_dump(exclude={"name", "message"}),
                id=uuid7(),
                name=_clean(create.name),
                message=_clean(create.message),
                created=stamp,
                updated=stamp,
            )
        )
    return logs


def create_many(creates: Sequence[LogCreate]) -> list[Log]:
    """Write a batch as group items with BatchWriteItem (25 per call, unprocessed items retried)."""
    stamp = now_utc()
    expires_at = epoch_seconds(stamp + retention())
    logs = build(creates, stamp)
    by_run: dict[tuple[UUID | None, UUID | None], list[Log]] = defaultdict(list)
    for log in logs:
        by_run[_group_of(log)].append(_fit(log))
    groups = [_group_item(chunk, expires_at) for lines in by_run.values() for chunk in log_groups.chunks(lines)]
    # One BatchWriteItem for both: a page naming a group not written yet is skipped by readers (no transaction).
    store.batch_put([*groups, *log_feed.pages(groups)])
    return logs


# --- reads -----------------------------------------------------------------------


def _shifted(moment: datetime.datetime, by: datetime.timedelta) -> datetime.datetime | None:
    """moment + by; None past either end of the calendar (no bound there)."""
    try:
        return moment + by
    except OverflowError:
        return None


def _time_range(logs: LogFilter | None) -> tuple[str | None, str | None]:
    """SK bounds implied by the timestamp filter, when every match must satisfy it."""
    if logs is None or logs.timestamp is None:
        return None, None
    if logs._is_or() and logs._criteria_count() > 1:
        return None, None  # OR-ed with other criteria: the bound is not necessary
    after, before = logs.timestamp.after_, logs.timestamp.before_
    # A group is keyed by its first line: one starting up to WINDOW before `after` may hold lines in range.
    # "~" sorts after "#<id>...", so the upper bound includes every group starting at that instant.
    lower = _shifted(after, -log_groups.WINDOW) if after else None  # None within WINDOW of year 1: no bound
    return (
        sortable_time(lower) if lower else None,
        f"{sortable_time(before)}~" if before else None,
    )


def _streams(logs: LogFilter | None, descending: bool) -> list[Iterator[TableItem]]:
    """One ordered item stream per partition the filter can match (narrowest first)."""
    hints = logs.index_hints() if logs is not None else {}
    gte, lte = _time_range(logs)
    common = partial(store.query, sk_gte=gte, sk_lte=lte, descending=descending)
    if "flow_run_id" in hints:
        return [common(_flow_run_pk(fid)) for fid in dict.fromkeys(hints["flow_run_id"])]
    if "task_run_id" in hints:
        return _task_run_streams(list(dict.fromkeys(hints["task_run_id"])), gte, lte, descending)
    return [log_feed.groups(gte, lte, descending, retention())]


def _task_run_span(run: TaskRun) -> tuple[str | None, str | None]:
    """SK bounds of the groups of its flow run that can hold a task run's lines: from its earliest recorded
    time (less TASK_RUN_SLACK, and WINDOW: a group starting that much earlier may hold its first line) to
    its end (plus TASK_RUN_SLACK); open-ended while the run is not finished (it may still log)."""
    times = [run.created, run.expected_start_time, run.start_time, run.state.timestamp if run.state else None]
    earliest = min((moment for moment in times if moment is not None), default=None)
    lower = _shifted(earliest, -(TASK_RUN_SLACK + log_groups.WINDOW)) if earliest else None
    upper = None
    if run.state is not None and run.state.is_final():
        finished = max(moment for moment in (run.end_time, run.state.timestamp) if moment is not None)
        upper = _shifted(finished, TASK_RUN_SLACK)
    return (sortable_time(lower) if lower else None, f"{sortable_time(upper)}~" if upper else None)


def _narrowed(
    outer: tuple[str | None, str | None], inner: tuple[str | None, str | None]
) -> tuple[str | None, str | None] | None:
    """The intersection of two SK ranges (None: no bound), or None when it is empty."""
    gte = max((bound for bound in (outer[0], inner[0]) if bound is not None), default=None)
    lte = min((bound for bound in (outer[1], inner[1]) if bound is not None), default=None)
    return None if gte is not None and lte is not None and gte > lte else (gte, lte)


def _widened(a: tuple[str | None, str | None], b: tuple[str | None, str | None]) -> tuple[str | None, str | None]:
    """The smallest SK range holding both (None: no bound)."""
    return (
        None if a[0] is None or b[0] is None else min(a[0], b[0]),
        None if a[1] is None or b[1] is None else max(a[1], b[1]),
    )


def _task_run_streams(
    task_run_ids: list[UUID], gte: str | None, lte: str | None, descending: bool
) -> list[Iterator[TableItem]]:
    """The items that can hold these task runs' lines: by task run on GSI1 (groups without a flow run, and
    groups written before flow-run grouping), and the groups of each one's flow run over its span. A task
    run that does not exist (deleted: its lines were deleted with it) has no lines in any flow run's groups."""
    streams = [
        store.query(_task_run_pk(tid), index="GSI1", sk_gte=gte, sk_lte=lte, descending=descending)
        for tid in task_run_ids
    ]
    spans: dict[UUID, tuple[str | None, str | None]] = {}
    for run in task_run_store.read_many(task_run_ids):
        if run.flow_run_id is not None:
            span = _task_run_span(run)
            known = spans.get(run.flow_run_id)
            spans[run.flow_run_id] = span if known is None else _widened(known, span)
    for flow_run_id, span in spans.items():
        bounds = _narrowed((gte, lte), span)
        if bounds is not None:
            streams.append(
                store.query(_flow_run_pk(flow_run_id), sk_gte=bounds[0], sk_lte=bounds[1], descending=descending)
            )
    return streams


def _merged(streams: list[Iterator[TableItem]], descending: bool) -> Iterator[TableItem]:
    # Base-table and index items are ordered by their own SK, which is the same string.
    def sk(item: TableItem) -> str:
        return str(item.SK)

    return heapq.merge(*streams, key=sk, reverse=descending)


def _live(items: Iterable[TableItem]) -> Iterator[TableItem]:
    now = epoch_seconds(now_utc())
    for item in items:
        if item.expires_at is not None and item.expires_at <= now:
            continue  # past TTL but not swept yet
        yield item


def read_logs(
    logs: LogFilter | None,
    offset: int,
    limit: int,
    sort: LogSort = LogSort.TIMESTAMP_ASC,
) -> list[Log]:
    """The page [offset, offset+limit) of matching logs in `sort` order."""
    if limit == 0:
        return []
    descending = sort == LogSort.TIMESTAMP_DESC
    lines = log_groups.in_order(_live(_merged(_streams(logs, descending), descending)), descending)
    matches = (log for log in lines if logs is None or logs.matches(log))
    # islice takes at most sys.maxsize: an offset past that (a 500 before) just pages past every log.
    wanted = min(offset + limit, sys.maxsize)
    window = list(islice(matches, wanted))
    if len(window) == wanted:
        # Logs sharing the window's last timestamp may belong on the page under the
        # id tiebreak, so read them too before sorting exactly.
        last = window[-1].timestamp
        for log in matches:
            if log.timestamp != last:
                break
            window.append(log)
    return apply_sort(window, sort)[offset:wanted]


def _delete_items(items: Iterable[TableItem]) -> int:
    deleted = list(items)
    with TableItem.batch_write() as batch:
        for item in deleted:
            batch.delete(item)
    return len(deleted)


def delete_for_flow_run(flow_run_id: UUID) -> int:
    """Delete a flow run's log items (the flow-runs repository calls this when a run is deleted)."""
    return _delete_items(store.query(_flow_run_pk(flow_run_id)))


def delete_for_task_run(run: TaskRun) -> int:
    """Delete a (just deleted) task run's lines, as the reference's delete_task_run_logs; returns how many
    items were deleted or rewritten. Its groups indexed by task run (without a flow run, or written before
    flow-run grouping) go whole; in its flow run's groups over its span its lines are cut out (`_cut`)."""
    changed = _delete_items(store.query(_task_run_pk(run.id), index="GSI1"))
    if run.flow_run_id is not None:
        gte, lte = _task_run_span(run)
        for item in list(store.query(_flow_run_pk(run.flow_run_id), sk_gte=gte, sk_lte=lte)):
            changed += _cut(item, run.id)
    return changed


def _cut(item: TableItem, task_run_id: UUID) -> int:
    """Rewrite a group without a task run's lines, under its key (deleted when no line is left): 1 if it
    changed. Conditional on the group's version, so a concurrent cut of another task run's lines is
    re-read and kept, never overwritten."""
    current: TableItem | None = item
    for _attempt in range(MAX_CUT_ATTEMPTS):
        if current is None:
            return 0  # deleted meanwhile (its flow run's delete, the TTL)
        lines = log_groups.logs_of(current)
        kept = [log for log in lines if log.task_run_id != task_run_id]
        if len(kept) == len(lines):
            return 0
        unchanged = (
            TableItem.version.does_not_exist() if current.version is None else TableItem.version == current.version
        )
        try:
            if kept:
                store.put(_without(current, kept), condition=unchanged)
            else:
                store.delete(current, condition=unchanged)
            return 1
        except ConcurrentUpdate:
            current = store.get(str(current.PK), str(current.SK))
    raise ConcurrentUpdate(f"log group {item.PK}/{item.SK}")


def _without(item: TableItem, kept: Sequence[Log]) -> TableItem:
    """The group item holding only `kept`, under the same key, TTL and index keys, one version on."""
    rewritten = TableItem(
        item.PK,
        item.SK,
        entity=log_groups.GROUP_ENTITY,
        body=log_groups.body(kept),
        expires_at=item.expires_at,
        version=(item.version or 0) + 1,
    )
    for attribute in ("GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"):
        setattr(rewritten, attribute, getattr(item, attribute))
    return rewritten


def stream_flow_run_logs(flow_run_id: UUID) -> Iterator[Log]:
    """Every live log of a flow run, oldest first, read page by page from the run's partition
    (`GET /flow_runs/{id}/logs/download` streams these without holding them all)."""
    return log_groups.in_order(_live(store.query(_flow_run_pk(flow_run_id), page_size=200)), descending=False)
