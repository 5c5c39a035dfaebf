"""Automations and the resources they relate to.

Automation item: PK=AUTOMATION#<id>, SK=#META, body = Automation JSON, `version` for
conditional updates.
Relation item:   PK=AUTOMATION#<id>, SK=RELATED#<resource id>, body = {"owned_by_resource": bool}
                 (the owner given at creation, and every deployment a selected action names).

Access patterns:
- automation by id ............ GetItem PK=AUTOMATION#<id>
- all automations (filter, count, and the trigger evaluator's load)
                                GSI1PK=AUTOMATIONS, GSI1SK=<name>#<id> (name order)
- automations related to a resource
                                GSI2PK=AUTOMATION_RELATED#<resource id>, GSI2SK=<automation id>
- delete with its relations ... Query PK=AUTOMATION#<id> (the item and its relation items)
Writes of an automation and its relations are one TransactWrite.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from uuid import UUID

from shared.schemas.automations import Automation, AutomationCore, AutomationFilter, AutomationSort
from shared.schemas.base import now_utc
from shared.schemas.sorting import paginate
from shared.storage import store
from shared.storage.errors import ConcurrentUpdate, ObjectNotFound
from shared.storage.keys import decode, key
from shared.storage.table import TableItem

ENTITY = "automation"
RELATION_ENTITY = "automation_related_resource"
NOT_FOUND = "Automation not found"
RELATED = "RELATED#"


def _pk(automation_id: UUID | str) -> str:
    return key("AUTOMATION", automation_id)


def _item(automation: Automation, version: int) -> TableItem:
    return TableItem(
        _pk(automation.id),
        store.META,
        entity=ENTITY,
        body=Automation.model_validate_json(automation.model_dump_json()).model_dump_json(),
        version=version,
        GSI1PK="AUTOMATIONS",
        GSI1SK=f"{automation.name}#{automation.id}",
    )


def _related_ids(automation: AutomationCore) -> set[str]:
    """Resources an automation acts on by id (the reference relates selected deployments)."""
    found: set[str] = set()
    for action in [*automation.actions, *automation.actions_on_trigger, *automation.actions_on_resolve]:
        deployment_id = getattr(action, "deployment_id", None)
        if deployment_id is not None:
            found.add(f"prefect.deployment.{deployment_id}")
    return found


def _relation(automation_id: UUID, resource_id: str, owned: bool) -> TableItem:
    return TableItem(
        _pk(automation_id),
        RELATED + resource_id,
        entity=RELATION_ENTITY,
        body=json.dumps({"owned_by_resource": owned}),
        GSI2PK=key("AUTOMATION_RELATED", resource_id),
        GSI2SK=str(automation_id),
    )


def _relations(automation_id: UUID) -> list[TableItem]:
    return list(store.query(_pk(automation_id), sk_prefix=RELATED))


def create(automation: Automation, owner_resource: str | None) -> Automation:
    stamp = now_utc()
    automation = automation.model_copy(update={"created": stamp, "updated": stamp})
    batch = store.WriteBatch().put_new(_item(automation, 1))
    related = _related_ids(automation)
    for resource_id in related - {owner_resource}:
        batch.put(_relation(automation.id, resource_id, False))
    if owner_resource:
        batch.put(_relation(automation.id, owner_resource, True))
    store.transact(batch)
    return automation


def _read_item(automation_id: UUID) -> TableItem | None:
    return store.get(_pk(automation_id))


def read(automation_id: UUID) -> Automation | None:
    item = _read_item(automation_id)
    return decode(item, Automation) if item else None


def read_or_404(automation_id: UUID) -> Automation:
    found = read(automation_id)
    if found is None:
        raise ObjectNotFound(NOT_FOUND)
    return found


def replace(automation_id: UUID, update: AutomationCore) -> Automation:
    """PUT: every field replaced; relations follow the new actions (owner kept)."""
    item = _read_item(automation_id)
    if item is None:
        raise ObjectNotFound(NOT_FOUND)
    current = decode(item, Automation)
    updated = Automation.model_validate(
        {**update.model_dump(), "id": current.id, "created": current.created, "updated": now_utc()}
    )
    batch = store.WriteBatch().put(_item(updated, int(item.version or 0) + 1), TableItem.version == item.version)
    owned = {
        r.SK.removeprefix(RELATED)
        for r in _relations(automation_id)
        if json.loads(r.body or "{}").get("owned_by_resource")
    }
    wanted = _related_ids(updated) - owned
    for relation in _relations(automation_id):
        resource_id = relation.SK.removeprefix(RELATED)
        if resource_id not in owned and resource_id not in wanted:
            batch.delete(relation)
    for resource_id in wanted:
        batch.put(_relation(automation_id, resource_id, False))
    store.transact(batch)
    return updated


def set_enabled(automation_id: UUID, enabled: bool) -> Automation:
    """PATCH / pause / resume: a conditional read-modify-write (retried on a lost race)."""
    for _ in range(5):
        item = _read_item(automation_id)
        if item is None:
            raise ObjectNotFound(NOT_FOUND)
        current = decode(item, Automation)
        updated = current.model_copy(update={"enabled": enabled, "updated": now_utc()})
        try:
            store.put(_item(updated, int(item.version or 0) + 1), TableItem.version == item.version)
            return updated
        except ConcurrentUpdate:
            continue
    raise ConcurrentUpdate(NOT_FOUND)


def delete(automation_id: UUID) -> None:
    items = list(store.query(_pk(automation_id)))
    if not any(i.SK == store.META for i in items):
        raise ObjectNotFound(NOT_FOUND)
    for item in items:
        store.delete(item)


def all_automations() -> Iterator[Automation]:
    for item in store.query("AUTOMATIONS", index="GSI1"):
        yield decode(item, Automation)


def filter_automations(
    automation_filter: AutomationFilter | None, sort: AutomationSort, offset: int, limit: int | None
) -> list[Automation]:
    found = [a for a in all_automations() if automation_filter is None or automation_filter.matches(a)]
    if sort == AutomationSort.NAME_ASC:
        found.sort(key=lambda a: (a.name, str(a.id)))
    elif sort == AutomationSort.NAME_DESC:
        found.sort(key=lambda a: (a.name, str(a.id)), reverse=True)
    elif sort == AutomationSort.CREATED_DESC:
        found.sort(key=lambda a: (a.created or now_utc(), str(a.id)), reverse=True)
    else:
        found.sort(key=lambda a: (a.updated or now_utc(), str(a.id)), reverse=True)
    return paginate(found, offset, limit)


def count(automation_filter: AutomationFilter | None) -> int:
    return sum(1 for a in all_automations() if automation_filter is None or automation_filter.matches(a))


def _related_items(resource_id: str) -> list[TableItem]:
    return list(store.query(key("AUTOMATION_RELATED", resource_id), index="GSI2"))


def related_to(resource_id: str) -> list[Automation]:
    ids = sorted({UUID(item.PK.removeprefix("AUTOMATION#")) for item in _related_items(resource_id)})
    items = store.batch_get((_pk(i), store.META) for i in ids)
    return sorted((decode(i, Automation) for i in items), key=lambda a: (a.created or now_utc(), str(a.id)))


def delete_owned_by(resource_id: str) -> int:
    """Delete the automations the resource owns that were created before now."""
    cutoff = now_utc()
    deleted = 0
    for relation in _related_items(resource_id):
        if not json.loads(relation.body or "{}").get("owned_by_resource"):
            continue
        automation = read(UUID(relation.PK.removeprefix("AUTOMATION#")))
        if automation is None or (automation.created and automation.created >= cutoff):
            continue
        try:
            delete(automation.id)
            deleted += 1
        except ObjectNotFound:
            pass  # deleted concurrently
    return deleted
