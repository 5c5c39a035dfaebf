"""Server-wide singletons: default result storage; a cheap readiness probe."""

from __future__ import annotations

from shared.schemas.admin import ServerDefaultResultStorage
from shared.storage import store
from shared.storage.errors import BACKEND_ERRORS
from shared.storage.table import TableItem

# Access pattern: get the single configuration item by key.
_STORAGE_PK = "CONFIG#default_result_storage"


def ping() -> None:
    store.get("CONFIG#ping")


def reachable() -> bool:
    """One consistent read answered: the table is there and reachable now."""
    try:
        ping()
    except BACKEND_ERRORS:
        return False
    return True


def read_default_result_storage() -> ServerDefaultResultStorage:
    item = store.get(_STORAGE_PK)
    if item is None or not item.body:
        return ServerDefaultResultStorage()
    return ServerDefaultResultStorage.model_validate_json(item.body)


def write_default_result_storage(value: ServerDefaultResultStorage) -> ServerDefaultResultStorage:
    store.put(TableItem(_STORAGE_PK, store.META, entity="config", body=value.model_dump_json()))
    return value
