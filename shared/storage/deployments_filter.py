"""Deployment filters: read the narrowest key or index, evaluate the rest in Python.

The reference answers the joined filters (flows, flow runs, task runs, work pools,
work queues) with EXISTS sub-queries; here each joined filter becomes a set of ids or
names, which narrows the read and is checked on every candidate. The sets from other
filters (flows, runs) are computed by queries.py, the floor above; this module reads
repositories only.

Index choice, narrowest first:
  deployment ids ............................ BatchGetItem
  flow ids (from a flow filter, <= 25 flows)  GSI2 per flow
  work pool names (from a pool filter) ...... GSI3 per pool (+ queue-name prefix)
  paused = true ............................. GSI5 (sparse)
  otherwise ................................. GSI1 (all deployments, name order)
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from shared.schemas.filters.base import FilterContext
from shared.schemas.filters.deployments import DeploymentFilter, WorkPoolFilter, WorkQueueFilter
from shared.schemas.sorting import DeploymentSort, apply_sort
from shared.storage import deployments as store_d
from shared.storage import flows as flow_store
from shared.storage import work_pools as pool_store
from shared.storage import work_queues as queue_store
from shared.storage.deployments import StoredDeployment

# Past this many flows a per-flow query costs more than reading the name index once.
MAX_FLOW_PARTITIONS = 25


def _pool_names(work_pools: WorkPoolFilter | None) -> set[str] | None:
    if work_pools is None:
        return None
    hints = work_pools.index_hints()
    ids = [UUID(str(v)) for v in hints["id"]] if "id" in hints else None
    names = [str(v) for v in hints["name"]] if "name" in hints and ids is None else None
    return {p.name for p in pool_store.candidates(ids=ids, names=names) if work_pools.matches(p)}


def _queue_ids(work_queues: WorkQueueFilter | None) -> set[UUID] | None:
    if work_queues is None:
        return None
    hints = work_queues.index_hints()
    if "id" in hints:
        candidates = queue_store.read_many([UUID(str(v)) for v in hints["id"]])
    else:
        candidates = queue_store.list_all()
    return {q.id for q in candidates if work_queues.matches(q)}


def filter_context() -> FilterContext:
    cache: dict[UUID, str | None] = {}

    def flow_name(flow_id: UUID) -> str | None:
        if flow_id not in cache:
            flow = flow_store.read(flow_id)
            cache[flow_id] = flow.name if flow else None
        return cache[flow_id]

    return FilterContext(flow_name=flow_name)


def _candidates(
    deployments: DeploymentFilter | None,
    flow_ids: set[UUID] | None,
    pool_names: set[str] | None,
    ids: set[UUID] | None,
) -> Iterable[StoredDeployment]:
    hints = deployments.index_hints() if deployments is not None else {}
    if "id" in hints:
        wanted = {UUID(str(v)) for v in hints["id"]}
        return store_d.read_many(wanted & ids if ids is not None else wanted)
    if ids is not None:
        return store_d.read_many(ids)
    if flow_ids is not None and len(flow_ids) <= MAX_FLOW_PARTITIONS:
        return [d for fid in flow_ids for d in store_d.list_for_flow(fid)]
    if pool_names is not None:
        queue_names = hints.get("work_queue_name")
        if queue_names is not None:
            return [d for p in pool_names for q in queue_names for d in store_d.list_for_pool(p, str(q))]
        return [d for p in pool_names for d in store_d.list_for_pool(p)]
    if deployments is not None and deployments.paused is not None and deployments.paused.eq_ is True:
        return store_d.list_paused()
    return store_d.list_all()


def filter_deployments(
    deployments: DeploymentFilter | None = None,
    *,
    work_pools: WorkPoolFilter | None = None,
    work_queues: WorkQueueFilter | None = None,
    flow_ids: set[UUID] | None = None,
    ids: set[UUID] | None = None,
    sort: DeploymentSort = DeploymentSort.NAME_ASC,
) -> list[StoredDeployment]:
    """Deployments matching `deployments`, the pool / queue filters, and the joins: the flow ids
    and deployment ids the joined filters allow (None: absent; queries.filter_deployments computes them)."""
    pool_names = _pool_names(work_pools)
    queue_ids = _queue_ids(work_queues)
    if any(s is not None and not s for s in (flow_ids, ids, pool_names, queue_ids)):
        return []  # an EXISTS over nothing selects nothing
    ctx = filter_context()
    matched = [
        d
        for d in _candidates(deployments, flow_ids, pool_names, ids)
        if (flow_ids is None or d.flow_id in flow_ids)
        and (ids is None or d.id in ids)
        and (pool_names is None or d.work_pool_name in pool_names)
        and (queue_ids is None or d.work_queue_id in queue_ids)
        and (deployments is None or deployments.matches(d, ctx))
    ]
    unique = {d.id: d for d in matched}
    return apply_sort(unique.values(), sort)
