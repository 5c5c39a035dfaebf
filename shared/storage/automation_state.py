"""Trigger evaluation state: event-trigger buckets and composite triggers' child firings.

Bucket item:  PK=AUTOMATION_BUCKET#<trigger id>, SK=<sha256 of the for_each key>,
              body = the bucket (key, start, end, count, last event, counted ids),
              `version` for conditional writes, expires_at = end + retention.
Fired marker: PK=AUTOMATION_FIRED#<trigger id>, SK=<event id | proactive window>, put only if
              new in the transaction that commits a firing (exactly-once firing under
              stream redelivery and concurrent evaluators); expires_at = + retention.
Child firing: PK=AUTOMATION_FIRINGS#<composite trigger id>, SK=<child trigger id>,
              body = {"triggered", "event"}, `state_id` = firing id, expires_at = triggered
              + the composite's window (or the retention).

Access patterns:
- one bucket (reactive evaluation) ..... GetItem by trigger id + key hash
- every bucket of a trigger (proactive) . Query PK=AUTOMATION_BUCKET#<trigger id>
- child firings of a composite ......... Query PK=AUTOMATION_FIRINGS#<trigger id>
Concurrency: a bucket is written only if its `version` is the one read (or it does not
exist yet), so of two evaluators racing on one bucket one wins and the other re-reads;
a composite fires only through a transaction deleting the child firings it consumed,
each conditioned on its firing id, so it fires once.
Retention: SERVERFLOW_AUTOMATION_STATE_RETENTION_DAYS (default 7) past a bucket's end.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from shared.schemas.automation_state import Bucket
from shared.schemas.events import ReceivedEvent
from shared.schemas.types import now_utc
from shared.storage import store
from shared.storage.errors import ConcurrentUpdate
from shared.storage.keys import key
from shared.storage.table import TableItem

BUCKET_ENTITY = "automation_bucket"
FIRING_ENTITY = "automation_child_firing"
MARKER_ENTITY = "automation_fired"


class BucketConflict(ConcurrentUpdate):
    """Another evaluator changed the bucket since it was read."""


def retention() -> datetime.timedelta:
    return datetime.timedelta(days=float(os.environ.get("SERVERFLOW_AUTOMATION_STATE_RETENTION_DAYS", "7")))


def _bucket_pk(trigger_id: UUID) -> str:
    return key("AUTOMATION_BUCKET", trigger_id)


def _key_hash(bucketing_key: tuple[str, ...]) -> str:
    return hashlib.sha256(json.dumps(list(bucketing_key)).encode()).hexdigest()


@dataclass
class StoredBucket:
    bucket: Bucket
    version: int


def read_bucket(trigger_id: UUID, bucketing_key: tuple[str, ...]) -> StoredBucket | None:
    item = store.get(_bucket_pk(trigger_id), _key_hash(bucketing_key))
    if item is None or item.body is None:
        return None
    return StoredBucket(Bucket.model_validate_json(item.body), int(item.version or 0))


def buckets_of(trigger_id: UUID) -> list[StoredBucket]:
    return [
        StoredBucket(Bucket.model_validate_json(i.body), int(i.version or 0))
        for i in store.query(_bucket_pk(trigger_id))
        if i.body
    ]


def _bucket_item(trigger_id: UUID, bucket: Bucket, read_version: int | None) -> TableItem:
    return TableItem(
        _bucket_pk(trigger_id),
        _key_hash(bucket.bucketing_key),
        entity=BUCKET_ENTITY,
        body=bucket.model_dump_json(),
        version=(read_version or 0) + 1,
        expires_at=int((bucket.end + retention()).timestamp()),
    )


def _version_condition(read_version: int | None) -> Any:
    return TableItem.PK.does_not_exist() if read_version is None else TableItem.version == read_version


def save_bucket(trigger_id: UUID, bucket: Bucket, read_version: int | None) -> None:
    """Write the bucket if nobody else did since `read_version` (None: it must be new)."""
    try:
        store.put(_bucket_item(trigger_id, bucket, read_version), _version_condition(read_version))
    except ConcurrentUpdate as exc:
        raise BucketConflict(str(exc)) from exc


def _marker_pk(trigger_id: UUID) -> str:
    return key("AUTOMATION_FIRED", trigger_id)


def window_marker(bucketing_key: tuple[str, ...], end: datetime.datetime) -> str:
    return f"window:{_key_hash(bucketing_key)}:{end.isoformat()}"


def already_fired(trigger_id: UUID, marker: str) -> bool:
    """Has this trigger already fired for `marker` (an event id, or a proactive window)?"""
    return store.get(_marker_pk(trigger_id), marker) is not None


def commit(
    trigger_id: UUID, bucketing_key: tuple[str, ...], bucket: Bucket | None, read_version: int | None, fired: list[str]
) -> None:
    """Write the evaluation's bucket (or its removal) conditioned on the version read; with
    firings, in one transaction with their markers (put only if new), so a firing is
    committed once however many evaluators see the same event or window."""
    if not fired:
        if bucket is None:
            remove_bucket(trigger_id, bucketing_key, read_version)
        else:
            save_bucket(trigger_id, bucket, read_version)
        return
    batch = store.WriteBatch()
    if bucket is not None:
        batch.put(_bucket_item(trigger_id, bucket, read_version), _version_condition(read_version))
    elif read_version is not None:
        batch.delete(TableItem(_bucket_pk(trigger_id), _key_hash(bucketing_key)), TableItem.version == read_version)
    expires = int((now_utc() + retention()).timestamp())
    for marker in fired:
        batch.put_new(TableItem(_marker_pk(trigger_id), marker, entity=MARKER_ENTITY, expires_at=expires))
    try:
        store.transact(batch)
    except ConcurrentUpdate as exc:
        raise BucketConflict(str(exc)) from exc


def remove_bucket(trigger_id: UUID, bucketing_key: tuple[str, ...], read_version: int | None) -> None:
    if read_version is None:
        return  # never stored
    try:
        store.delete(TableItem(_bucket_pk(trigger_id), _key_hash(bucketing_key)), TableItem.version == read_version)
    except ConcurrentUpdate as exc:
        raise BucketConflict(str(exc)) from exc


# --- composite triggers --------------------------------------------------------------


@dataclass
class ChildFiring:
    child_trigger_id: UUID
    triggered: datetime.datetime
    event: ReceivedEvent | None
    firing_id: str


def _firings_pk(parent_id: UUID) -> str:
    return key("AUTOMATION_FIRINGS", parent_id)


def record_child_firing(
    parent_id: UUID,
    child_id: UUID,
    triggered: datetime.datetime,
    event: ReceivedEvent | None,
    keep: datetime.timedelta | None,
) -> None:
    """Upsert: a child that fires again replaces its earlier firing."""
    body = json.dumps({"triggered": triggered.isoformat(), "event": event.model_dump(mode="json") if event else None})
    store.put(
        TableItem(
            _firings_pk(parent_id),
            str(child_id),
            entity=FIRING_ENTITY,
            body=body,
            state_id=str(uuid4()),
            expires_at=int((triggered + (keep or retention())).timestamp()),
        )
    )


def child_firings(parent_id: UUID) -> list[ChildFiring]:
    found = []
    for item in store.query(_firings_pk(parent_id)):
        data = json.loads(item.body or "{}")
        event = ReceivedEvent.model_validate(data["event"]) if data.get("event") else None
        found.append(
            ChildFiring(UUID(item.SK), datetime.datetime.fromisoformat(data["triggered"]), event, item.state_id or "")
        )
    return found


def consume_child_firings(parent_id: UUID, firings: list[ChildFiring]) -> bool:
    """Delete exactly these firings at once; False if another evaluator consumed them first."""
    batch = store.WriteBatch()
    for firing in firings:
        batch.delete(
            TableItem(_firings_pk(parent_id), str(firing.child_trigger_id)), TableItem.state_id == firing.firing_id
        )
    try:
        store.transact(batch)
    except ConcurrentUpdate:
        return False
    return True


def drop_child_firings(parent_id: UUID, firings: list[ChildFiring]) -> None:
    """Firings that fell out of the composite's window."""
    for firing in firings:
        store.delete_key(_firings_pk(parent_id), str(firing.child_trigger_id))
