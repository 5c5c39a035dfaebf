"""Variables in the table.

Item: PK=VARIABLE#<id>, SK=#META, body = Variable JSON, `version` for conditional writes.
Name guard: PK=VARIABLE_NAME#<name>, SK=#META, body {"id"}; written in the same
transaction as the variable, so concurrent creates of a name resolve to one variable.

Access patterns:
- read by id ............. PK=VARIABLE#<id> (GetItem; `id.any_` filters: BatchGetItem)
- read by name ........... guard PK=VARIABLE_NAME#<name> -> by id (`name.any_`: guards, then items)
- list / filter / count .. GSI1PK=VARIABLES, GSI1SK=<name>#<id> (name order; the rest of the
                           filter in Python; variables are few per workspace)
Renames move the guard in the same transaction as the variable (delete old, put_new new).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from uuid import UUID

from shared.schemas.base import now_utc
from shared.schemas.filters.misc import VariableFilter
from shared.schemas.sorting import VariableSort, apply_sort, paginate
from shared.schemas.variables import Variable, VariableCreate, VariableUpdate
from shared.storage import store
from shared.storage.errors import ConcurrentUpdate, ObjectAlreadyExists, ObjectNotFound
from shared.storage.keys import decode, key
from shared.storage.table import TableItem

ENTITY = "variable"
NOT_FOUND = "Variable not found."
WRITE_ATTEMPTS = 6
# The reference's answer to a rename onto a taken name (its unique-index violation handler).
INTEGRITY_CONFLICT = (
    "Data integrity conflict. This usually means a unique or foreign key constraint was violated. "
    "See server logs for details."
)


def _item_key(variable_id: UUID | str) -> str:
    return key("VARIABLE", variable_id)


def _name_key(name: str) -> str:
    return key("VARIABLE_NAME", name)


def _to_item(variable: Variable, version: int) -> TableItem:
    return TableItem(
        _item_key(variable.id),
        store.META,
        entity=ENTITY,
        body=variable.model_dump_json(),
        version=version,
        GSI1PK="VARIABLES",
        GSI1SK=f"{variable.name}#{variable.id}",
    )


def _guard(variable: Variable) -> TableItem:
    return TableItem(
        _name_key(variable.name), store.META, entity="variable_name", body=json.dumps({"id": str(variable.id)})
    )


# --- reads ------------------------------------------------------------------------


def read(variable_id: UUID) -> Variable | None:
    item = store.get(_item_key(variable_id))
    return decode(item, Variable) if item else None


def _id_for_name(name: str) -> UUID | None:
    guard = store.get(_name_key(name))
    return UUID(json.loads(guard.body)["id"]) if guard is not None and guard.body else None


def read_by_name(name: str) -> Variable | None:
    variable_id = _id_for_name(name)
    return read(variable_id) if variable_id is not None else None


def _read_many(ids: Iterable[UUID]) -> list[Variable]:
    return [decode(item, Variable) for item in store.batch_get((_item_key(i), store.META) for i in ids)]


def _candidates(variable_filter: VariableFilter | None) -> list[Variable]:
    """The narrowest read that holds every match: ids, names, else the name index."""
    hints = variable_filter.index_hints() if variable_filter is not None else {}
    if "id" in hints:
        return _read_many(hints["id"])
    if "name" in hints:
        guards = store.batch_get((_name_key(name), store.META) for name in hints["name"])
        return _read_many(UUID(json.loads(g.body)["id"]) for g in guards if g.body)
    return [decode(item, Variable) for item in store.query("VARIABLES", index="GSI1")]


def filter_variables(
    variable_filter: VariableFilter | None,
    sort: VariableSort = VariableSort.NAME_ASC,
    offset: int = 0,
    limit: int | None = None,
) -> list[Variable]:
    found = [v for v in _candidates(variable_filter) if variable_filter is None or variable_filter.matches(v)]
    return paginate(apply_sort(found, sort), offset, limit)


def count(variable_filter: VariableFilter | None) -> int:
    return len(filter_variables(variable_filter))


# --- writes -----------------------------------------------------------------------


def create(body: VariableCreate) -> Variable:
    stamp = now_utc()
    variable = Variable(**body.model_dump(), created=stamp, updated=stamp)
    batch = store.WriteBatch().put_new(_guard(variable)).put_new(_to_item(variable, 1))
    try:
        store.transact(batch, on_conflict=ObjectAlreadyExists)
    except ObjectAlreadyExists:
        raise ObjectAlreadyExists(f"A variable with the name {variable.name!r} already exists.") from None
    return variable


def _update(resolve: Callable[[], UUID | None], changes: VariableUpdate) -> Variable:
    values = changes.model_dump(exclude_unset=True)
    for _ in range(WRITE_ATTEMPTS):
        variable_id = resolve()
        item = store.get(_item_key(variable_id)) if variable_id is not None else None
        if item is None:
            raise ObjectNotFound(NOT_FOUND)
        current = decode(item, Variable)
        # Validate the merged object with the model it is read back with.
        updated = Variable.model_validate({**current.model_dump(), **values, "updated": now_utc()})
        version = int(item.version or 0)
        batch = store.WriteBatch().put(_to_item(updated, version + 1), TableItem.version == version)
        if updated.name != current.name:
            old_guard = _guard(current)
            batch.put_new(_guard(updated)).delete(old_guard, TableItem.body == old_guard.body)
        try:
            store.transact(batch)
            return updated
        except ConcurrentUpdate:
            if updated.name != current.name and store.get(_name_key(updated.name)) is not None:
                raise ObjectAlreadyExists(INTEGRITY_CONFLICT) from None
            continue  # the variable changed under us: re-read and re-apply
    raise ConcurrentUpdate(str(resolve()))


def update(variable_id: UUID, changes: VariableUpdate) -> Variable:
    return _update(lambda: variable_id, changes)


def update_by_name(name: str, changes: VariableUpdate) -> Variable:
    return _update(lambda: _id_for_name(name), changes)


def _delete(variable: Variable | None) -> None:
    if variable is None:
        raise ObjectNotFound(NOT_FOUND)
    guard = _guard(variable)
    batch = store.WriteBatch().delete(_to_item(variable, 0), TableItem.PK.exists())
    batch.delete(guard, TableItem.body == guard.body)
    try:
        store.transact(batch)
    except ConcurrentUpdate:
        raise ObjectNotFound(NOT_FOUND) from None  # a concurrent delete won


def delete(variable_id: UUID) -> None:
    _delete(read(variable_id))


def delete_by_name(name: str) -> None:
    _delete(read_by_name(name))
