"""Retention of finished runs: DynamoDB TTL (`expires_at`) on run, task-run and state items.

`SERVERFLOW_RUN_RETENTION_DAYS` (template parameter `RunRetentionDays`; default 0 = keep
forever, as the reference does): a flow or task run item gets `expires_at` = the timestamp of
its final state + the retention once it reaches one (a run that moves on, e.g. retried, is
rewritten without it), and each state-history item = its timestamp + the retention (a run
that lasts longer than the retention loses its oldest history entries first). Read per write,
like the event and log retentions (`SERVERFLOW_EVENTS_RETENTION_DAYS`,
`SERVERFLOW_LOG_RETENTION_DAYS`, default 7 each). DynamoDB deletes expired items within about
two days; until then they still read back. Natural-key and idempotency guards (~100 bytes
each) are kept. A task run's guard holds the first states of its run only while runs are kept
forever (task_run_keys.holds_history): a guard never expires, and readers find it through its
run, which a retention would expire before the history the guard holds.

A run's state history also indexes its state events by resource (the state id is the event id:
shared/storage/events.py), so a history item is kept at least as long as its event can be: the
events retention plus a day of client clock skew (`history_expiry`).
"""

from __future__ import annotations

import datetime
import os

from shared.schemas.states import State

ENV = "SERVERFLOW_RUN_RETENTION_DAYS"
EVENTS_ENV = "SERVERFLOW_EVENTS_RETENTION_DAYS"
# Events are kept from their `received` time, states from their `timestamp` (the event's client-stamped
# `occurred`): this margin covers a client clock that runs behind.
CLIENT_CLOCK_SKEW = datetime.timedelta(days=1)


def events_retention() -> datetime.timedelta:
    return datetime.timedelta(days=float(os.environ.get(EVENTS_ENV, "7")))


def run_retention() -> datetime.timedelta | None:
    """None: runs are kept forever."""
    days = float(os.environ.get(ENV, "0") or 0)
    return datetime.timedelta(days=days) if days > 0 else None


def state_expiry(state: State | None, *, at_least: datetime.timedelta = datetime.timedelta(0)) -> int | None:
    """`expires_at` of a state-history item (epoch seconds), or None to keep it."""
    keep = run_retention()
    if keep is None or state is None:
        return None
    return int((state.timestamp + max(keep, at_least)).timestamp())


def run_expiry(state: State | None) -> int | None:
    """`expires_at` of a run item in `state`: only a finished run expires."""
    if state is None or not state.is_final():
        return None
    return state_expiry(state)


def history_expiry(state: State | None) -> int | None:
    """`expires_at` of a flow- or task-run state-history item: never before the event it indexes can expire."""
    return state_expiry(state, at_least=events_retention() + CLIENT_CLOCK_SKEW)
