""" "This run was sent to its pool's SQS queue for this scheduled time" markers.

Key: PK=FLOW_RUN#<run id> (the run's own partition, so deleting the run removes them),
SK=DISPATCHED#<sortable scheduled time>, TTL `expires_at` a day after that time.

The scheduler ticks every minute and sends every run that has entered the 15-minute
delay window; a marker written with put_new before the send makes that once per
(run, scheduled time), even with overlapping invocations. A run rescheduled to another
time (e.g. AwaitingRetry) gets a new marker and is sent again. A message lost after its
marker was written does not strand the run: workers also poll the API for due runs.
"""

from __future__ import annotations

import datetime

from shared.storage import store
from shared.storage.flow_run_states import run_key
from shared.storage.keys import epoch_seconds, sortable_time
from shared.storage.table import TableItem

PREFIX = "DISPATCHED#"
KEEP_FOR = datetime.timedelta(days=1)


def _item(run_id: object, scheduled: datetime.datetime | None) -> TableItem:
    when = scheduled or datetime.datetime.now(datetime.UTC)
    return TableItem(
        run_key(str(run_id)),
        f"{PREFIX}{sortable_time(scheduled)}",
        entity="dispatch_mark",
        expires_at=epoch_seconds(when + KEEP_FOR),
    )


def claim(run_id: object, scheduled: datetime.datetime | None) -> bool:
    """True if this caller is the first to dispatch the run for this time."""
    return store.put_if_absent(_item(run_id, scheduled))


def release(run_id: object, scheduled: datetime.datetime | None) -> None:
    """Undo a claim whose send failed, so the next tick tries again."""
    store.delete(_item(run_id, scheduled))


def already_dispatched(runs: list[tuple[object, datetime.datetime | None]]) -> set[str]:
    """Run ids (as str) that hold a marker for their current scheduled time: one
    BatchGetItem, so each scheduler tick reads markers instead of attempting writes."""
    items = store.batch_get((_item(rid, when).PK, _item(rid, when).SK) for rid, when in runs)
    return {item.PK.split("#", 1)[1] for item in items}
