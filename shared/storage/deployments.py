"""Deployments in the table.

Item: PK=DEPLOYMENT#<id>, SK=#META, body = the deployment JSON *with its schedules*
(a deployment has a handful of schedules; embedding them makes `GET /deployments/{id}`
and every list row one item, and lets a schedule change be one conditional write),
attribute `version` = write counter: every write is conditional on it.

Access patterns:
- read by id ................ PK=DEPLOYMENT#<id>, SK=#META (consistent GetItem / BatchGetItem)
- unique (flow_id, name) .... guard PK=DEPLOYMENT_NAME#<flow_id>#<name>, SK=#META (body holds
                              the id), put_new in the same transaction as the deployment
- by name ................... flow guard FLOW_NAME#<flow name> -> flow id -> deployment guard -> id
- list all (name order) ..... GSI1PK=DEPLOYMENTS, GSI1SK=<name>#<id>
- by flow ................... GSI2PK=DEPLOYMENTS#FLOW#<flow_id>, GSI2SK=<name>#<id>
- by work pool / queue ...... GSI3PK=DEPLOYMENTS#POOL#<work_pool_name>,
                              GSI3SK=<work_queue_name>#<name>#<id> (sparse: only with a pool;
                              a queue is begins_with "<queue name>#")
- to schedule ............... GSI4PK=DEPLOYMENTS#SCHEDULED, GSI4SK=<id> (sparse: present only
                              while not paused and with at least one active schedule; the
                              scheduler reads exactly these)
- paused .................... GSI5PK=DEPLOYMENTS#PAUSED, GSI5SK=<name>#<id> (sparse)
- without a work queue ...... GSI6PK=DEPLOYMENTS#UNQUEUED, GSI6SK=<id> (sparse; their scheduled
                              runs sit in the runs' per-deployment scheduled partition, which the
                              late-runs function must visit besides the per-queue ones)
- READY by last poll ........ GSI7PK=DEPLOYMENTS#READY, GSI7SK=<sortable last_polled>#<id>
                              (sparse: only while READY with a last_polled; the foreman reads
                              `GSI7SK < now - 60 s`, exactly the deployments it may mark NOT_READY)
No Scan. Filters read the narrowest of these (deployments_filter.py).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable
from uuid import UUID

from pydantic import Field

from shared.schemas.base import now_utc
from shared.schemas.deployments import Deployment, DeploymentStatus
from shared.schemas.events import ReceivedEvent
from shared.storage import events as event_store
from shared.storage import flows as flow_store
from shared.storage import store
from shared.storage.errors import ConcurrentUpdate, ObjectAlreadyExists, ObjectNotFound
from shared.storage.keys import key, sortable_time
from shared.storage.table import TableItem

ENTITY = "deployment"
ALL_DEPLOYMENTS = "DEPLOYMENTS"
SCHEDULED_DEPLOYMENTS = "DEPLOYMENTS#SCHEDULED"
PAUSED_DEPLOYMENTS = "DEPLOYMENTS#PAUSED"
UNQUEUED_DEPLOYMENTS = "DEPLOYMENTS#UNQUEUED"
READY_DEPLOYMENTS = "DEPLOYMENTS#READY"
MAX_WRITE_ATTEMPTS = 6


class StoredDeployment(Deployment):
    """A deployment plus what only the server needs (never serialised to clients)."""

    # The concurrency-limits domain owns the limit object; we keep what was asked for.
    concurrency_limit_requested: int | None = Field(default=None, exclude=True)
    global_concurrency_limit_id: UUID | None = Field(default=None, exclude=True)


class DeploymentNotFound(ObjectNotFound):
    pass


def deployment_key(deployment_id: UUID | str) -> str:
    return key("DEPLOYMENT", deployment_id)


def name_key(flow_id: UUID | str, name: str) -> str:
    return f"DEPLOYMENT_NAME#{flow_id}#{name}"


def flow_partition(flow_id: UUID | str) -> str:
    return key("DEPLOYMENTS#FLOW", flow_id)


def pool_partition(pool_name: str) -> str:
    return key("DEPLOYMENTS#POOL", pool_name)


def needs_scheduling(deployment: Deployment) -> bool:
    return not deployment.paused and any(s.active for s in deployment.schedules)


# --- item mapping -------------------------------------------------------------------


def _body(deployment: StoredDeployment) -> str:
    extra = {
        "concurrency_limit_requested": deployment.concurrency_limit_requested,
        "global_concurrency_limit_id": str(deployment.global_concurrency_limit_id)
        if deployment.global_concurrency_limit_id
        else None,
    }
    return json.dumps({**deployment.model_dump(mode="json"), **extra})


def to_item(deployment: StoredDeployment, version: int) -> TableItem:
    did = str(deployment.id)
    name_sk = f"{deployment.name}#{did}"
    item = TableItem(
        deployment_key(did),
        store.META,
        entity=ENTITY,
        body=_body(deployment),
        version=version,
        GSI1PK=ALL_DEPLOYMENTS,
        GSI1SK=name_sk,
        GSI2PK=flow_partition(deployment.flow_id),
        GSI2SK=name_sk,
    )
    if deployment.work_pool_name:
        item.GSI3PK = pool_partition(deployment.work_pool_name)
        item.GSI3SK = f"{deployment.work_queue_name or ''}#{name_sk}"
    if needs_scheduling(deployment):
        item.GSI4PK, item.GSI4SK = SCHEDULED_DEPLOYMENTS, did
    if deployment.paused:
        item.GSI5PK, item.GSI5SK = PAUSED_DEPLOYMENTS, name_sk
    if deployment.work_queue_id is None:
        item.GSI6PK, item.GSI6SK = UNQUEUED_DEPLOYMENTS, did
    if deployment.status == DeploymentStatus.READY and deployment.last_polled is not None:
        item.GSI7PK, item.GSI7SK = READY_DEPLOYMENTS, f"{sortable_time(deployment.last_polled)}#{did}"
    return item


def guard_item(deployment: Deployment) -> TableItem:
    return TableItem(
        name_key(deployment.flow_id, deployment.name),
        store.META,
        entity="deployment_name",
        body=json.dumps({"id": str(deployment.id)}),
    )


def from_item(item: TableItem) -> StoredDeployment:
    assert item.body is not None
    return StoredDeployment.model_validate_json(item.body)


# --- reads --------------------------------------------------------------------------


def load(deployment_id: UUID) -> tuple[StoredDeployment, int] | None:
    item = store.get(deployment_key(deployment_id))
    return (from_item(item), int(item.version or 0)) if item else None


def read(deployment_id: UUID) -> StoredDeployment | None:
    loaded = load(deployment_id)
    return loaded[0] if loaded else None


def read_or_404(deployment_id: UUID) -> StoredDeployment:
    deployment = read(deployment_id)
    if deployment is None:
        raise DeploymentNotFound("Deployment not found")
    return deployment


def read_many(deployment_ids: Iterable[UUID]) -> list[StoredDeployment]:
    return list(store.readable(store.batch_get((deployment_key(d), store.META) for d in deployment_ids), from_item))


def id_for_name(flow_id: UUID, name: str) -> UUID | None:
    guard = store.get(name_key(flow_id, name))
    return UUID(json.loads(guard.body)["id"]) if guard and guard.body else None


def read_by_flow_and_name(flow_id: UUID, name: str) -> StoredDeployment | None:
    deployment_id = id_for_name(flow_id, name)
    return read(deployment_id) if deployment_id else None


def read_by_name(flow_name: str, name: str) -> StoredDeployment | None:
    flow = flow_store.read_by_name(flow_name)
    return read_by_flow_and_name(flow.id, name) if flow else None


def list_all() -> list[StoredDeployment]:
    return list(store.readable(store.query(ALL_DEPLOYMENTS, index="GSI1"), from_item))


def list_for_flow(flow_id: UUID) -> list[StoredDeployment]:
    return list(store.readable(store.query(flow_partition(flow_id), index="GSI2"), from_item))


def count_for_flow(flow_id: UUID) -> int:
    """The flow's deployments, counted on its GSI2 partition (one entry per deployment) by a COUNT Query."""
    return store.count(flow_partition(flow_id), index="GSI2").matched


def list_for_pool(pool_name: str, queue_name: str | None = None) -> list[StoredDeployment]:
    prefix = f"{queue_name}#" if queue_name is not None else None
    return list(store.readable(store.query(pool_partition(pool_name), index="GSI3", sk_prefix=prefix), from_item))


def list_paused() -> list[StoredDeployment]:
    return [d for d in store.readable(store.query(PAUSED_DEPLOYMENTS, index="GSI5"), from_item) if d.paused]


def list_to_schedule() -> list[StoredDeployment]:
    """Deployments the scheduler must look at (GSI lag: re-checked on the body)."""
    return [
        d for d in store.readable(store.query(SCHEDULED_DEPLOYMENTS, index="GSI4"), from_item) if needs_scheduling(d)
    ]


def list_unqueued() -> list[StoredDeployment]:
    return [
        d for d in store.readable(store.query(UNQUEUED_DEPLOYMENTS, index="GSI6"), from_item) if d.work_queue_id is None
    ]


def list_ready_polled_before(threshold: datetime.datetime) -> list[StoredDeployment]:
    """READY deployments last polled before `threshold` (GSI lag: re-checked on the body)."""
    items = store.query(READY_DEPLOYMENTS, index="GSI7", sk_lte=sortable_time(threshold))
    return [
        d
        for d in store.readable(items, from_item)
        if d.status == DeploymentStatus.READY and d.last_polled is not None and d.last_polled < threshold
    ]


def flow_has_deployment(flow_id: UUID) -> bool:
    return next(iter(store.query(flow_partition(flow_id), index="GSI2", limit=1)), None) is not None


# --- writes -------------------------------------------------------------------------


def insert(deployment: StoredDeployment) -> None:
    """A new deployment and its name guard, atomically (409 if the name is taken)."""
    batch = store.WriteBatch().put_new(guard_item(deployment)).put_new(to_item(deployment, 1))
    store.transact(batch, on_conflict=ObjectAlreadyExists)


def replace(before: StoredDeployment, version: int, after: StoredDeployment) -> StoredDeployment:
    """Write `after` over `before` if nobody wrote in between (ConcurrentUpdate otherwise)."""
    after.updated = now_utc()
    store.put(to_item(after, version + 1), condition=TableItem.version == version)
    return after


def modify(
    deployment_id: UUID, change: Callable[[StoredDeployment], StoredDeployment | None]
) -> tuple[StoredDeployment, StoredDeployment]:
    """Read-modify-write guarded by `version`, re-applied on a lost race.

    Returns (before, after); `change` returning None means "no write" (after is before).
    """
    for _ in range(MAX_WRITE_ATTEMPTS):
        loaded = load(deployment_id)
        if loaded is None:
            raise DeploymentNotFound("Deployment not found.")
        before, version = loaded
        after = change(before.model_copy(deep=True))
        if after is None:
            return before, before
        try:
            return before, replace(before, version, after)
        except ConcurrentUpdate:
            continue
    raise ConcurrentUpdate(deployment_key(deployment_id))


def delete(deployment: StoredDeployment) -> None:
    store.transact(store.WriteBatch().delete(to_item(deployment, 0)).delete(guard_item(deployment)))


def write_bookkeeping(deployment: StoredDeployment, version: int, event: ReceivedEvent | None = None) -> bool:
    """Write a poll's or the foreman's change (status, last_polled) over `version`; False on a lost race.

    `updated` is left alone, as the reference does (it would look like a user's change). A status
    change carries its event, written in the same transaction.
    """
    batch = store.WriteBatch().put(to_item(deployment, version + 1), TableItem.version == version)
    if event is not None:
        batch.put(event_store.to_item(event))
    try:
        store.transact(batch)
    except ConcurrentUpdate:
        return False
    return True
