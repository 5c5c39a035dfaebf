"""Slot state for orchestration, and the slot writes that go with a new state.

Before a run's proposal is orchestrated, `flow_run_slots` / `task_run_slots` read what the
concurrency rules need (the deployment's or the tags' limits, and the leases the run
holds) into a pure `SlotState`; `add_changes` then puts the decided slot changes into the
SAME transaction as the new state. Every slot write is conditioned on the counters read,
so if another run took the last slot meanwhile the whole transition fails and is decided
again on fresh state: a limit of k never has more than k holders.

Reads happen only when a rule can act: runs without a deployment limit / without tags
cost nothing extra.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from uuid import UUID

from shared.orchestration.context import SlotChanges, SlotState
from shared.schemas.concurrency_limits import (
    DEPLOYMENT_CONCURRENCY_SLOT_WAIT_SECONDS,
    INITIAL_DEPLOYMENT_LEASE_SECONDS,
    TAG_CONCURRENCY_SLOT_WAIT_SECONDS,
    TAG_PREFIX,
    V1_LEASE_SECONDS,
    ConcurrencyLease,
    ConcurrencyLeaseHolder,
    tag_limit_name,
)
from shared.schemas.flow_runs import FlowRun
from shared.schemas.states import StateType
from shared.schemas.task_runs import TaskRun
from shared.schemas.types import now_utc
from shared.storage import concurrency_leases as lease_store
from shared.storage import concurrency_limits as limit_store
from shared.storage import deployment_limits, store
from shared.storage.concurrency_limits import StoredLimit

ACTIVE_FLOW_STATES = {StateType.PENDING, StateType.RUNNING, StateType.CANCELLING}
HOLDING_TASK_STATES = {StateType.RUNNING, StateType.CANCELLING}


@dataclass
class SlotSnapshot:
    """What was read, kept for the conditional writes (the versions / counters read)."""

    state: SlotState | None = None
    limits: dict[UUID, StoredLimit] = field(default_factory=dict)
    leases: dict[UUID, tuple[ConcurrencyLease, int]] = field(default_factory=dict)


def flow_run_slots(run: FlowRun, proposed_type: StateType | None) -> SlotSnapshot:
    if run.deployment_id is None or proposed_type is None:
        return SlotSnapshot()
    initial_type = run.state.type if run.state else None
    lease_id = run.state.state_details.deployment_concurrency_lease_id if run.state else None
    securing = proposed_type == StateType.PENDING and initial_type not in ACTIVE_FLOW_STATES
    validating = proposed_type == StateType.RUNNING and initial_type == StateType.PENDING and lease_id is not None
    releasing = initial_type in ACTIVE_FLOW_STATES and proposed_type not in ACTIVE_FLOW_STATES and lease_id is not None
    if not (securing or validating or releasing):
        return SlotSnapshot()
    snapshot = SlotSnapshot()
    now = now_utc()
    held = lease_store.load(lease_id) if lease_id is not None else None
    if held is not None:
        snapshot.leases[held[0].id] = held
    limit_fields: dict[str, object] = {}
    if securing or validating:
        governing = deployment_limits.governing_limit(run.deployment_id)
        if governing is not None:
            stored, options = governing
            snapshot.limits[stored.limit.id] = stored
            limit_fields = {
                "limit_ids": (stored.limit.id,),
                "limit": stored.limit.limit if stored.limit.active else None,
                "slot_available": limit_store.fits(stored, 1, now),
                "collision_strategy": options.collision_strategy.value if options else "ENQUEUE",
                "lease_seconds": float(
                    options.grace_period_seconds
                    if options and options.grace_period_seconds is not None
                    else INITIAL_DEPLOYMENT_LEASE_SECONDS
                ),
                "wait_seconds": DEPLOYMENT_CONCURRENCY_SLOT_WAIT_SECONDS,
            }
    snapshot.state = SlotState(
        held_lease_id=held[0].id if held else None,
        held_lease_live=bool(held and held[0].expiration > now),
        **limit_fields,  # type: ignore[arg-type]  # limit_fields holds exactly SlotState's limit fields
    )
    return snapshot


def task_run_slots(run: TaskRun, proposed_type: StateType | None) -> SlotSnapshot:
    if not run.tags or proposed_type is None:
        return SlotSnapshot()
    limits = [s for s in limit_store.read_by_names([tag_limit_name(t) for t in run.tags]) if s.limit.active]
    if not limits:
        return SlotSnapshot()
    now = now_utc()
    snapshot = SlotSnapshot(limits={s.limit.id: s for s in limits})
    held_ids: tuple[UUID, ...] = ()
    if proposed_type not in HOLDING_TASK_STATES:
        for lease_id in lease_store.leases_held_by([s.limit.id for s in limits], run.id):
            loaded = lease_store.load(lease_id)
            if loaded is not None:
                snapshot.leases[lease_id] = loaded
        held_ids = tuple(snapshot.leases)
    blocking = [s for s in limits if not limit_store.fits(s, 1, now)]
    worst = max(blocking, key=lambda s: s.active_slots_at(now) / max(s.limit.limit, 1), default=None)
    wait = min(worst.limit.avg_slot_occupancy_seconds, TAG_CONCURRENCY_SLOT_WAIT_SECONDS) if worst else 0.0
    snapshot.state = SlotState(
        limit_ids=tuple(s.limit.id for s in limits if s.limit.limit > 0),
        limit=min(s.limit.limit for s in limits),
        slot_available=not blocking,
        lease_seconds=V1_LEASE_SECONDS,
        held_lease_ids=held_ids,
        blocking_names=tuple(s.limit.name.removeprefix(TAG_PREFIX) for s in blocking),
        zero_names=tuple(s.limit.name.removeprefix(TAG_PREFIX) for s in limits if s.limit.limit == 0),
        wait_seconds=wait,
    )
    return snapshot


def add_changes(
    batch: store.WriteBatch,
    snapshot: SlotSnapshot,
    changes: SlotChanges | None,
    holder: ConcurrencyLeaseHolder,
    now: datetime.datetime | None = None,
) -> None:
    """Put the decided slot changes into the state's transaction."""
    if not changes:
        return
    now = now or now_utc()
    for lease_id in changes.release_lease_ids:
        if lease_id in snapshot.leases:
            lease, version = snapshot.leases[lease_id]
            lease_store.add_release(batch, lease, version, now)
    if changes.renew_lease_id is not None and changes.renew_lease_id in snapshot.leases:
        lease, version = snapshot.leases[changes.renew_lease_id]
        lease_store.add_renew(batch, lease, version, changes.renew_lease_seconds, now)
    if changes.acquire_lease_id is not None:
        limits = [snapshot.limits[i] for i in changes.acquire_limit_ids if i in snapshot.limits]
        lease = lease_store.new_lease(
            limits, 1, changes.acquire_lease_seconds, holder, now, lease_id=changes.acquire_lease_id
        )
        lease_store.add_acquire(batch, limits, lease, now)
