"""Which scheduled runs a polling worker gets: queue priorities, concurrency limits, pauses.

`select_runs` is the pure rule (the reference's get-runs-from-worker-queues query, in
Python); the functions below it feed it from storage. Scheduled runs come from the flow
runs' sparse "scheduled and due" index (one range Query per queue); occupied slots from
the by-state-type index.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from shared.schemas.flow_runs import FlowRun
from shared.schemas.states import StateType
from shared.schemas.work_pools import WorkPool, WorkQueue
from shared.storage import flow_runs as flow_run_store
from shared.storage import work_queues

P = TypeVar("P", bound=WorkPool)

# The pool scheduler counts Pending and Running runs against limits; the legacy
# work-queue path also counts Cancelling (both as in the reference).
POOL_SLOT_STATES = (StateType.PENDING, StateType.RUNNING)
QUEUE_SLOT_STATES = (StateType.PENDING, StateType.RUNNING, StateType.CANCELLING)


@dataclass(frozen=True)
class QueueCandidates:
    queue: WorkQueue
    runs: list[FlowRun]  # SCHEDULED runs of the queue in the time window, soonest first
    active: int  # runs occupying the queue's slots


def available(limit: int | None, active: int) -> int | None:
    return None if limit is None else max(0, limit - active)


def _min(*values: int | None) -> int | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def select_runs(
    pool: WorkPool,
    candidates: list[QueueCandidates],
    pool_active: int,
    limit: int | None,
    respect_queue_priorities: bool = True,
) -> list[tuple[WorkQueue, FlowRun]]:
    """Runs to hand out: none from a paused pool or queue, at most each queue's and the
    pool's free slots, highest-priority queue first, then soonest first."""
    if pool.is_paused:
        return []
    chosen: list[tuple[WorkQueue, FlowRun]] = []
    for item in candidates:
        if item.queue.is_paused:
            continue
        runs = [r for r in item.runs if r.empirical_policy.retry_type != "in_process"]
        cap = _min(limit, available(item.queue.concurrency_limit, item.active))
        chosen.extend((item.queue, run) for run in (runs if cap is None else runs[:cap]))

    def order(pair: tuple[WorkQueue, FlowRun]) -> tuple[int, str, str]:
        queue, run = pair
        when = run.next_scheduled_start_time.isoformat() if run.next_scheduled_start_time else "~"
        return (queue.priority if respect_queue_priorities else 0, when, str(run.id))

    chosen.sort(key=order)
    cap = _min(limit, available(pool.concurrency_limit, pool_active))
    return chosen if cap is None else chosen[:cap]


# --- storage-backed inputs ---------------------------------------------------------


def active_counts(queue_ids: Iterable[UUID], states: Iterable[StateType]) -> Counter[UUID]:
    """Runs in `states` per work queue (reads the runs of those state types once)."""
    wanted = set(queue_ids)
    counts: Counter[UUID] = Counter()
    if not wanted:
        return counts
    for state in states:
        for item in flow_run_store.items_in_state(state):
            run = flow_run_store.from_item(item)
            # GSIs lag: trust the body's state, not the index entry.
            if run.state_type == state and run.work_queue_id in wanted:
                counts[run.work_queue_id] += 1
    return counts


def scheduled_candidates(
    queues: list[WorkQueue],
    before: datetime.datetime | None,
    after: datetime.datetime | None,
    limit: int | None,
    slot_states: Iterable[StateType] = POOL_SLOT_STATES,
) -> tuple[list[QueueCandidates], Counter[UUID]]:
    live = [q for q in queues if not q.is_paused]
    # Scheduled runs are read BEFORE the active counts: a claim landing between the two reads
    # then shows up as active (shrinking the cap) instead of vanishing from the scheduled side
    # unseen, which would let a second run through a concurrency limit.
    scheduled = {
        queue.id: []
        if _min(limit, queue.concurrency_limit) == 0
        else flow_run_store.read_scheduled(
            work_queue_id=queue.id, before=before, after=after, limit=_min(limit, queue.concurrency_limit)
        )
        for queue in live
    }
    active = active_counts((q.id for q in live), slot_states)
    result = []
    for queue in live:
        cap = _min(limit, available(queue.concurrency_limit, active[queue.id]))
        runs = scheduled[queue.id] if cap is None else scheduled[queue.id][:cap]
        result.append(QueueCandidates(queue, runs, active[queue.id]))
    return result, active


def pool_active_slots(pool_queues: list[WorkQueue]) -> int:
    """Pending/Running runs in any of the pool's queues (paused ones too: they still run)."""
    return sum(active_counts((q.id for q in pool_queues), POOL_SLOT_STATES).values())


def with_pool_slots(pools: list[P]) -> list[P]:
    """active_slots only for pools with a concurrency limit, as the reference reports it."""
    limited = [p for p in pools if p.concurrency_limit is not None]
    if not limited:
        return pools
    queues = {p.id: work_queues.list_for_pool(p.name) for p in limited}
    counts = active_counts((q.id for qs in queues.values() for q in qs), POOL_SLOT_STATES)
    return [
        p.model_copy(update={"active_slots": sum(counts[q.id] for q in queues[p.id])}) if p.id in queues else p
        for p in pools
    ]


def with_queue_slots(queues: list[WorkQueue]) -> list[WorkQueue]:
    limited = [q.id for q in queues if q.concurrency_limit is not None]
    if not limited:
        return queues
    counts = active_counts(limited, POOL_SLOT_STATES)
    return [
        q.model_copy(update={"active_slots": counts[q.id]}) if q.concurrency_limit is not None else q for q in queues
    ]


def slot_holders(
    queues: list[WorkQueue], states: Iterable[StateType], match_names: bool = False
) -> dict[UUID, list[FlowRun]]:
    """The runs in `states` occupying each queue's slots, id order (the concurrency-status views).

    A run counts for a queue by its work_queue_id, or (with `match_names`, as the reference's
    queue-level view) without one by its queue name. Reads the by-state-type partitions once."""
    by_id = {q.id: q for q in queues}
    by_name = {q.name: q.id for q in queues}
    holders: dict[UUID, list[FlowRun]] = {q.id: [] for q in queues}
    for state in states:
        for item in flow_run_store.items_in_state(state):
            run = flow_run_store.from_item(item)
            if run.state_type != state:
                continue  # GSIs lag: trust the body's state
            queue_id = run.work_queue_id if run.work_queue_id in by_id else None
            if match_names and queue_id is None and run.work_queue_id is None and run.work_queue_name in by_name:
                queue_id = by_name[run.work_queue_name]
            if queue_id is not None:
                holders[queue_id].append(run)
    for runs in holders.values():
        runs.sort(key=lambda r: str(r.id))
    return holders
