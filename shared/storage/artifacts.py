"""Artifacts and artifact collections (the latest artifact of each key) in the table.

Artifact item: PK=ARTIFACT#<id>, SK=#META, body = Artifact JSON.
Collection item: PK=ARTIFACT_COLLECTION#<key>, SK=#META, body = ArtifactCollection JSON,
`state_timestamp` = "<sortable created>#<artifact id>" of the artifact it points at (the
"newness" marker; later created wins, the id breaks ties).

Access patterns (ids in sort keys: uuid order serves the default ID_DESC sort):
- artifact by id ........... PK=ARTIFACT#<id> (GetItem / BatchGetItem)
- artifacts of a key ....... GSI1PK=ARTIFACTS_KEY#<key>, GSI1SK=<created>#<id> (sparse: keyed only;
                             newest first = the next latest when the latest is deleted)
- artifacts of a flow run .. GSI2PK=ARTIFACTS_FR#<flow_run_id>, GSI2SK=<id> (sparse)
- artifacts of a task run .. GSI3PK=ARTIFACTS_TR#<task_run_id>, GSI3SK=<id> (sparse)
- artifacts of a type ...... GSI4PK=ARTIFACTS_TYPE#<type>, GSI4SK=<id> (sparse)
- all artifacts ............ GSI5PK=ARTIFACTS, GSI5SK=<id>
- latest of a key .......... PK=ARTIFACT_COLLECTION#<key> (GetItem / BatchGetItem)
- collections by flow run / task run / type / all: as for artifacts on GSI2..GSI5 with
  the prefixes ARTIFACT_COLLECTIONS_FR# / _TR# / _TYPE# / ARTIFACT_COLLECTIONS; the keys
  follow the collection's current latest artifact because they are rewritten with it.
Filters read the narrowest of these from the filter's index hints (id, key, flow run,
task run, joined flow-run / task-run filters, type, else all) and evaluate the rest of
the filter in Python. No Scan.

Concurrency: creating a keyed artifact writes the artifact and the collection in one
transaction whose collection condition is "the marker I read is still there" (or "no
collection yet"); a lost race re-reads, and an artifact older than the current latest
is written alone. So of concurrent creates of one key the newest always ends up latest,
whatever order the writes land in. Deletes and updates of the latest use the same
condition, so none of them can resurrect or clobber a newer latest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from uuid import UUID, uuid4

from shared.schemas.artifacts import Artifact, ArtifactCollection, ArtifactCreate, ArtifactUpdate
from shared.schemas.base import now_utc
from shared.schemas.filters.artifacts import ArtifactCollectionFilter, ArtifactFilter
from shared.schemas.filters.deployments import DeploymentFilter
from shared.schemas.filters.runs import FlowFilter, FlowRunFilter, TaskRunFilter
from shared.schemas.sorting import ArtifactCollectionSort, ArtifactSort, apply_sort, paginate
from shared.storage import queries, store
from shared.storage.errors import ConcurrentUpdate, ObjectNotFound, StorageError
from shared.storage.keys import decode, key, sortable_time
from shared.storage.table import TableItem

ENTITY = "artifact"
COLLECTION_ENTITY = "artifact_collection"
NOT_FOUND = "Artifact not found."
WRITE_ATTEMPTS = 8
# Room under DynamoDB's 409,600-byte item limit for keys and attributes.
MAX_ARTIFACT_ITEM_BYTES = 380_000
# A joined flow-run/task-run filter matching at most this many runs is served by one
# index query per run; more, and reading the artifact's own narrowest index is cheaper.
JOIN_FANOUT = 50


class ArtifactTooLarge(StorageError):
    """The artifact's JSON cannot fit one DynamoDB item (HTTP 413)."""


# --- keys ------------------------------------------------------------------------


def _artifact_pk(artifact_id: UUID | str) -> str:
    return key("ARTIFACT", artifact_id)


def _collection_pk(artifact_key: str) -> str:
    return key("ARTIFACT_COLLECTION", artifact_key)


def _marker(artifact: Artifact) -> str:
    return f"{sortable_time(artifact.created)}#{artifact.id}"


def _index_keys(prefix: str, obj: Artifact | ArtifactCollection) -> dict[str, Any]:
    """GSI2..GSI5 attributes shared by artifacts (prefix ARTIFACTS) and collections."""
    sk = str(obj.id)
    attrs = {"GSI5PK": prefix, "GSI5SK": sk}
    if obj.flow_run_id is not None:
        attrs.update(GSI2PK=key(f"{prefix}_FR", obj.flow_run_id), GSI2SK=sk)
    if obj.task_run_id is not None:
        attrs.update(GSI3PK=key(f"{prefix}_TR", obj.task_run_id), GSI3SK=sk)
    if obj.type is not None:
        attrs.update(GSI4PK=key(f"{prefix}_TYPE", obj.type), GSI4SK=sk)
    return attrs


def _artifact_item(artifact: Artifact) -> TableItem:
    body = artifact.model_dump_json()
    if len(body.encode("utf-8")) > MAX_ARTIFACT_ITEM_BYTES:
        raise ArtifactTooLarge(f"Artifact data exceeds the maximum size of {MAX_ARTIFACT_ITEM_BYTES} bytes.")
    item = TableItem(
        _artifact_pk(artifact.id), store.META, entity=ENTITY, body=body, **_index_keys("ARTIFACTS", artifact)
    )
    if artifact.key is not None:
        item.GSI1PK = key("ARTIFACTS_KEY", artifact.key)
        item.GSI1SK = _marker(artifact)
    return item


def _collection_item(collection: ArtifactCollection, marker: str) -> TableItem:
    return TableItem(
        _collection_pk(collection.key),
        store.META,
        entity=COLLECTION_ENTITY,
        body=collection.model_dump_json(),
        state_timestamp=marker,
        **_index_keys("ARTIFACT_COLLECTIONS", collection),
    )


def _collection_of(artifact: Artifact, current: TableItem | None, **stamps: Any) -> ArtifactCollection:
    """The collection pointing at `artifact`, keeping an existing collection's id."""
    existing = decode(current, ArtifactCollection) if current is not None else None
    collection = ArtifactCollection.from_artifact(artifact, collection_id=existing.id if existing else uuid4())
    return collection.model_copy(update=stamps)


def _still(marker: str | None) -> Any:
    return TableItem.state_timestamp == marker


# --- reads -----------------------------------------------------------------------


def read(artifact_id: UUID) -> Artifact | None:
    item = store.get(_artifact_pk(artifact_id))
    return decode(item, Artifact) if item else None


def read_or_404(artifact_id: UUID) -> Artifact:
    artifact = read(artifact_id)
    if artifact is None:
        raise ObjectNotFound(NOT_FOUND)
    return artifact


def read_collection(artifact_key: str) -> ArtifactCollection | None:
    item = store.get(_collection_pk(artifact_key))
    return decode(item, ArtifactCollection) if item else None


def read_latest(artifact_key: str) -> Artifact:
    """GET /artifacts/{key}/latest.

    The reference answers with its collection row shaped as an Artifact, so `id`,
    `created` and `updated` are the collection's, not the latest artifact's.
    """
    collection = read_collection(artifact_key)
    if collection is None:
        raise ObjectNotFound(NOT_FOUND)
    return Artifact(**collection.model_dump(exclude={"latest_id"}))


# --- writes ----------------------------------------------------------------------


def create(body: ArtifactCreate) -> Artifact:
    stamp = now_utc()
    artifact = Artifact(**body.model_dump(), created=stamp, updated=stamp)
    item = _artifact_item(artifact)
    if artifact.key is None:
        store.put_new(item)
        return artifact
    marker = _marker(artifact)
    for _ in range(WRITE_ATTEMPTS):
        current = store.get(_collection_pk(artifact.key))
        if current is not None and (current.state_timestamp or "") >= marker:
            store.put_new(item)  # a newer artifact of this key is already the latest
            return artifact
        if current is None:
            collection, condition = (
                _collection_of(artifact, None, created=stamp, updated=stamp),
                TableItem.PK.does_not_exist(),
            )
        else:
            first_created = decode(current, ArtifactCollection).created
            collection, condition = (
                _collection_of(artifact, current, created=first_created, updated=stamp),
                _still(current.state_timestamp),
            )
        try:
            store.transact(store.WriteBatch().put_new(item).put(_collection_item(collection, marker), condition))
            return artifact
        except ConcurrentUpdate:
            continue  # another create/delete of this key won; look again
    raise ConcurrentUpdate(artifact.key)


def update(artifact_id: UUID, changes: ArtifactUpdate) -> Artifact:
    values = changes.model_dump(exclude_unset=True)
    for _ in range(WRITE_ATTEMPTS):
        current = store.get(_artifact_pk(artifact_id))
        if current is None:
            raise ObjectNotFound(NOT_FOUND)
        artifact = decode(current, Artifact)
        stamp = now_utc()
        updated = artifact.model_copy(update={**values, "updated": stamp})
        batch = store.WriteBatch().put(_artifact_item(updated), TableItem.body == current.body)
        if artifact.key is not None:
            coll = store.get(_collection_pk(artifact.key))
            if coll is not None and coll.state_timestamp == _marker(artifact):
                collection = decode(coll, ArtifactCollection).model_copy(update={**values, "updated": stamp})
                batch.put(
                    _collection_item(collection, _marker(artifact)),
                    _still(coll.state_timestamp) & (TableItem.body == coll.body),
                )
        try:
            store.transact(batch)
            return updated
        except ConcurrentUpdate:
            continue
    raise ConcurrentUpdate(str(artifact_id))


def _next_latest(artifact: Artifact) -> Artifact | None:
    """Newest other artifact of the key (index hits are re-read: the GSI may lag)."""
    assert artifact.key is not None
    for item in store.query(key("ARTIFACTS_KEY", artifact.key), index="GSI1", descending=True):
        if _artifact_pk(artifact.id) == item.PK:
            continue
        fresh = store.get(str(item.PK))
        if fresh is not None:
            return decode(fresh, Artifact)
    return None


def delete(artifact_id: UUID) -> Artifact:
    """Delete; if it was its key's latest, the collection moves to the next newest (or goes)."""
    for _ in range(WRITE_ATTEMPTS):
        artifact = read_or_404(artifact_id)
        batch = store.WriteBatch().delete(TableItem(_artifact_pk(artifact.id), store.META), TableItem.PK.exists())
        coll = store.get(_collection_pk(artifact.key)) if artifact.key is not None else None
        marker = _marker(artifact)
        if coll is not None and coll.state_timestamp == marker:
            successor = _next_latest(artifact)
            if successor is None:
                batch.delete(coll, _still(marker))
            else:
                # As the reference: the collection takes the successor's fields and timestamps.
                moved = _collection_of(successor, coll, created=successor.created, updated=successor.updated)
                batch.put(_collection_item(moved, _marker(successor)), _still(marker))
        try:
            store.transact(batch)
            return artifact
        except ConcurrentUpdate:
            continue
    raise ConcurrentUpdate(str(artifact_id))


# --- filters ---------------------------------------------------------------------


def _uuids(values: Iterable[Any]) -> list[UUID]:
    return [UUID(str(v)) for v in dict.fromkeys(values)]


def _type_hint(flt: ArtifactFilter | ArtifactCollectionFilter | None) -> list[str] | None:
    """type.any_ when every match must satisfy it (the schema gives no type hint)."""
    if flt is None or flt.type is None or flt.type.any_ is None:
        return None
    if flt._is_or() and flt._criteria_count() > 1:
        return None
    return list(dict.fromkeys(flt.type.any_))


def _joined_run_ids(
    flow_runs: FlowRunFilter | None,
    task_runs: TaskRunFilter | None,
    flows: FlowFilter | None,
    deployments: DeploymentFilter | None,
) -> tuple[set[UUID] | None, set[UUID] | None]:
    """Ids of the flow runs / task runs the join filters select (None: not constrained)."""
    flow_run_ids = task_run_ids = None
    if flow_runs is not None or flows is not None or deployments is not None:
        runs = queries.filter_flow_runs(flow_runs=flow_runs, flows=flows, deployments=deployments)
        flow_run_ids = {run.id for run in runs}
    if task_runs is not None:
        task_run_ids = {run.id for run in queries.filter_task_runs(task_runs=task_runs)}
    return flow_run_ids, task_run_ids


def _query_all(prefix: str, index: str, values: Iterable[Any]) -> Iterator[TableItem]:
    for value in dict.fromkeys(values):
        yield from store.query(key(prefix, value), index=index)


def _narrowed(hint: list[Any] | None, joined: set[UUID] | None) -> list[UUID] | None:
    """Run ids to read by: the filter's own ids (within the join), else a small join set."""
    if hint is not None:
        ids = _uuids(hint)
        return [i for i in ids if joined is None or i in joined]
    if joined is not None and len(joined) <= JOIN_FANOUT:
        return sorted(joined)
    return None


def _artifact_candidates(
    flt: ArtifactFilter | None, flow_run_ids: set[UUID] | None, task_run_ids: set[UUID] | None
) -> list[Artifact]:
    hints = flt.index_hints() if flt is not None else {}
    if "id" in hints:
        items: Iterable[TableItem] = store.batch_get((_artifact_pk(i), store.META) for i in _uuids(hints["id"]))
    elif "key" in hints:
        items = _query_all("ARTIFACTS_KEY", "GSI1", hints["key"])
    elif (fr := _narrowed(hints.get("flow_run_id"), flow_run_ids)) is not None:
        items = _query_all("ARTIFACTS_FR", "GSI2", fr)
    elif (tr := _narrowed(hints.get("task_run_id"), task_run_ids)) is not None:
        items = _query_all("ARTIFACTS_TR", "GSI3", tr)
    elif (types := _type_hint(flt)) is not None:
        items = _query_all("ARTIFACTS_TYPE", "GSI4", types)
    else:
        items = store.query("ARTIFACTS", index="GSI5", descending=True)
    return [decode(item, Artifact) for item in items if item.entity == ENTITY]


def _collection_candidates(
    flt: ArtifactCollectionFilter | None, flow_run_ids: set[UUID] | None, task_run_ids: set[UUID] | None
) -> list[ArtifactCollection]:
    hints = flt.index_hints() if flt is not None else {}
    if "key" in hints:
        items: Iterable[TableItem] = store.batch_get(
            (_collection_pk(k), store.META) for k in dict.fromkeys(hints["key"])
        )
    elif "latest_id" in hints:
        artifacts = store.batch_get((_artifact_pk(i), store.META) for i in _uuids(hints["latest_id"]))
        keys = {a.key for a in (decode(i, Artifact) for i in artifacts) if a.key is not None}
        items = store.batch_get((_collection_pk(k), store.META) for k in keys)
    elif (fr := _narrowed(hints.get("flow_run_id"), flow_run_ids)) is not None:
        items = _query_all("ARTIFACT_COLLECTIONS_FR", "GSI2", fr)
    elif (tr := _narrowed(hints.get("task_run_id"), task_run_ids)) is not None:
        items = _query_all("ARTIFACT_COLLECTIONS_TR", "GSI3", tr)
    elif (types := _type_hint(flt)) is not None:
        items = _query_all("ARTIFACT_COLLECTIONS_TYPE", "GSI4", types)
    else:
        items = store.query("ARTIFACT_COLLECTIONS", index="GSI5", descending=True)
    return [decode(item, ArtifactCollection) for item in items if item.entity == COLLECTION_ENTITY]


def _joined(obj: Artifact | ArtifactCollection, flow_run_ids: set[UUID] | None, task_run_ids: set[UUID] | None) -> bool:
    # EXISTS(flow run / task run matching ...): an artifact without a run never joins.
    return (flow_run_ids is None or obj.flow_run_id in flow_run_ids) and (
        task_run_ids is None or obj.task_run_id in task_run_ids
    )


def filter_artifacts(
    artifacts: ArtifactFilter | None = None,
    flow_runs: FlowRunFilter | None = None,
    task_runs: TaskRunFilter | None = None,
    flows: FlowFilter | None = None,
    deployments: DeploymentFilter | None = None,
    sort: ArtifactSort = ArtifactSort.ID_DESC,
    offset: int = 0,
    limit: int | None = None,
) -> list[Artifact]:
    fr_ids, tr_ids = _joined_run_ids(flow_runs, task_runs, flows, deployments)
    matched = [
        a
        for a in _artifact_candidates(artifacts, fr_ids, tr_ids)
        if (artifacts is None or artifacts.matches(a)) and _joined(a, fr_ids, tr_ids)
    ]
    return paginate(apply_sort(matched, sort), offset, limit)


def filter_collections(
    artifacts: ArtifactCollectionFilter | None = None,
    flow_runs: FlowRunFilter | None = None,
    task_runs: TaskRunFilter | None = None,
    flows: FlowFilter | None = None,
    deployments: DeploymentFilter | None = None,
    sort: ArtifactCollectionSort = ArtifactCollectionSort.ID_DESC,
    offset: int = 0,
    limit: int | None = None,
) -> list[ArtifactCollection]:
    fr_ids, tr_ids = _joined_run_ids(flow_runs, task_runs, flows, deployments)
    matched = [
        c
        for c in _collection_candidates(artifacts, fr_ids, tr_ids)
        if (artifacts is None or artifacts.matches(c)) and _joined(c, fr_ids, tr_ids)
    ]
    return paginate(apply_sort(matched, sort), offset, limit)
