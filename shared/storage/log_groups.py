"""Log groups: the lines of one POST /logs/ that share a flow run, as one stored item.

DynamoDB bills a write per started KB of an item and of each index copy, so one item per 300-byte
line cost a WRU per line and copy (a task printing 100 lines: 200-300 WRU). A group of lines is one
compressed body (body_codec) with the keys one line would have, billed by its size: those 100 lines
(41 KB of JSON) compress to ~13 KB, 13 WRU. What bounds a group, and why:
- one flow run (the lines of all its task runs and its own, each line naming its task run): the
  client posts every ~2 s one batch holding a "Finished in state ..." line per task run, and a group
  per (flow run, task run) with a by-task-run index copy cost every task run 2 WRU; one group per flow
  run costs the batch ~1 WRU. Lines without a flow run are grouped per task run (or alone) as before,
  in partitions of their own with the by-task-run index copy (logs.py);
- lines oldest first, (timestamp, id) order; the last at most WINDOW after the first: the group is
  keyed by its first line, so a read from `since` starts WINDOW early, and a newest-first read holds a
  line back until no group still to come can hold a newer one (see `in_order`);
- at most MAX_GROUP_JSON_BYTES of JSON (or one line, which logs.py truncates to fit an item alone):
  the item stays far under DynamoDB's 400 KB and a read of a few lines reads a few KB.
Sort key: `<first line's sortable timestamp>#<first line id>#<digest of the group's line ids>`. A
line's id is a new UUIDv7 (logs.py `build`), so every POST stores its lines, as the
reference does; a rewrite of the same group (a retried batch write) changes nothing, and `in_order` keeps
each id once. A deleted task run's lines are cut out of its flow run's groups (logs.py), which keep their
key: the sort key then names a line no longer there, and readers order a group by its key, not by its
first remaining line (every remaining line is still at or after the key's and within WINDOW of it).
WINDOW is part of the stored format: readers assume every stored group spans at most WINDOW (a
larger value is safe for groups written under a smaller one, a smaller one is not).

Groups written before flow-run grouping hold one task run's lines (`task_run_id` on the group, none on
the lines); items of one line (entity `log`, SK `<ts>#<id>`, the body a Log) were written before
groups. Both still read back: `logs_of` reads every layout.
"""

from __future__ import annotations

import datetime
import hashlib
import heapq
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from shared.schemas.logs import Log
from shared.schemas.types import DateTime
from shared.storage import store
from shared.storage.keys import sortable_time
from shared.storage.table import TableItem

ENTITY = "log"
GROUP_ENTITY = "log_group"
ENTITIES = (ENTITY, GROUP_ENTITY)
# The client's log worker posts every 2 s (PREFECT_LOGGING_TO_API_BATCH_INTERVAL): a batch's lines
# span about that. A wider window would make time-range and newest-first reads read more groups.
WINDOW = datetime.timedelta(seconds=10)
MAX_GROUP_JSON_BYTES = 64 * 1024


class LogLine(BaseModel):
    """A line in a group: what differs between the lines of one flow run and request."""

    id: UUID
    name: str
    level: int
    message: str
    timestamp: DateTime
    # Absent in groups written before flow-run grouping (their task run is the group's), and left out of the
    # JSON for a flow run's own lines, so their bytes (and WRU) are what they were.
    task_run_id: UUID | None = Field(default=None, exclude_if=lambda value: value is None)


class LogGroup(BaseModel):
    """A group item's body. `task_run_id` is set when every line has that task run (a group of lines
    without a flow run, or one written before flow-run grouping), so a line's task run is its own or this."""

    flow_run_id: UUID | None
    task_run_id: UUID | None
    created: DateTime
    lines: list[LogLine]

    def logs(self) -> list[Log]:
        # model_construct: the fields were validated as the group's, with the same types as Log's.
        common: dict[str, Any] = {
            "created": self.created,
            "updated": self.created,
            "flow_run_id": self.flow_run_id,
        }
        return [
            Log.model_construct(
                **line.model_dump(exclude={"task_run_id"}),
                task_run_id=line.task_run_id or self.task_run_id,
                **common,
            )
            for line in self.lines
        ]


def _line(log: Log) -> LogLine:
    return LogLine.model_validate(log, from_attributes=True)


def line_order(log: Log) -> tuple[str, str]:
    """(timestamp, id) as the sort keys of single-line items order them."""
    return sortable_time(log.timestamp), str(log.id)


def sort_key(lines: Sequence[Log]) -> str:
    first = lines[0]
    digest = hashlib.blake2b("|".join(str(log.id) for log in lines).encode(), digest_size=8).hexdigest()
    return f"{sortable_time(first.timestamp)}#{first.id}#{digest}"


def body(lines: Sequence[Log]) -> str:
    """The JSON body of a group of lines of one flow run (or, without one, of one task run), written at
    their `created`: each line names its task run, the group too when all share one (then readers that
    predate line-level task runs still read every line's)."""
    first = lines[0]
    shared_task_run = {log.task_run_id for log in lines}
    group = LogGroup(
        flow_run_id=first.flow_run_id,
        task_run_id=first.task_run_id if len(shared_task_run) == 1 else None,
        created=first.created or first.timestamp,
        lines=[_line(log) for log in lines],
    )
    return group.model_dump_json()


def _line_bytes(log: Log) -> int:
    return len(_line(log).model_dump_json().encode())


def chunks(logs: Iterable[Log]) -> Iterator[list[Log]]:
    """Lines of one flow run (or task run without one) in groups, oldest first: the same lines give the
    same groups."""
    return store.chunked(
        sorted(logs, key=line_order),
        _line_bytes,
        MAX_GROUP_JSON_BYTES,
        splits=lambda first, log: log.timestamp - first.timestamp > WINDOW,
    )


def logs_in(entity: str | None, text: str) -> list[Log]:
    """The lines of a stored log body (the table's or its stream's): a group's, or a single-line item's."""
    if entity == GROUP_ENTITY:
        return LogGroup.model_validate_json(text).logs()
    return [Log.model_validate_json(text)]


def logs_of(item: TableItem) -> list[Log]:
    """The lines of a log item, oldest first."""
    if item.body is None:
        raise ValueError(f"Item {item.PK}/{item.SK} has no body")
    return logs_in(item.entity, item.body)


class _Newest:
    """A heap rank putting the greatest (timestamp, id) first."""

    __slots__ = ("order",)

    def __init__(self, order: tuple[str, str]) -> None:
        self.order = order

    def __lt__(self, other: _Newest) -> bool:
        return self.order > other.order


def _key_order(item: TableItem) -> tuple[str, str]:
    """(timestamp, id) of the line an item is keyed by: at or before each of its lines, which are at most
    WINDOW after it (its first line, unless a task run's delete cut that line out)."""
    moment, line_id = str(item.SK).split("#")[:2]
    return moment, line_id


def _window_after(moment: str) -> str | None:
    """The sortable time WINDOW after a sortable time; None past the calendar's end."""
    try:
        return sortable_time(datetime.datetime.fromisoformat(moment) + WINDOW)
    except OverflowError:
        return None


def _lines_in_order(items: Iterable[TableItem], descending: bool) -> Iterator[Log]:
    pending: list[tuple[Any, int, tuple[str, str], Log]] = []  # (heap rank, arrival, order, line)
    arrival = itertools.count()
    for item in items:
        lines = logs_of(item)
        if not lines:
            continue
        start = _key_order(item)
        # Lines no item from this one on can precede in the read's order are final.
        if descending:
            latest = _window_after(start[0])
            while pending and latest is not None and pending[0][2][0] > latest:
                yield heapq.heappop(pending)[3]
        else:
            while pending and pending[0][2] < start:
                yield heapq.heappop(pending)[3]
        for log in lines:
            order = line_order(log)
            heapq.heappush(pending, (_Newest(order) if descending else order, next(arrival), order, log))
    while pending:
        yield heapq.heappop(pending)[3]


def in_order(items: Iterable[TableItem], descending: bool) -> Iterator[Log]:
    """The lines of log items (ordered by sort key, i.e. by first line) in exact (timestamp, id) order,
    `descending` or not, each id once.

    A line is given out once no item still to come can hold one before it: oldest first, once an item's
    key starts after it (an item's lines are at or after its key's line); newest first, once an item's key
    is more than WINDOW before it (an item's lines are at most WINDOW after its key's line). Copies of a line (a retry
    batched differently) have the same (timestamp, id), so they come out one after the other.
    """
    last: UUID | None = None
    for log in _lines_in_order(items, descending):
        if log.id != last:
            last = log.id
            yield log
