"""Sort enums of the list endpoints, and Python key functions that reproduce their ORDER BY.

Storage reads a key range and sorts the page candidates in Python, so each enum value
maps to an ordered list of (attribute, descending) columns, evaluated like SQL would.

Null placement follows PostgreSQL (the reference's production database): NULL is
larger than every value, so it comes last ascending and first descending. Every
ordering ends with `id` descending as a tiebreak: the reference leaves ties in
arbitrary order, and a fixed one keeps offset pagination stable over DynamoDB.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from functools import total_ordering
from typing import Any, TypeVar

T = TypeVar("T")


class _SortEnum(str, enum.Enum):
    """A str enum whose JSON value is the member name, like the reference's AutoEnum."""

    def __str__(self) -> str:
        return str(self.value)


class FlowRunSort(_SortEnum):
    ID_DESC = "ID_DESC"
    START_TIME_ASC = "START_TIME_ASC"
    START_TIME_DESC = "START_TIME_DESC"
    EXPECTED_START_TIME_ASC = "EXPECTED_START_TIME_ASC"
    EXPECTED_START_TIME_DESC = "EXPECTED_START_TIME_DESC"
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"
    NEXT_SCHEDULED_START_TIME_ASC = "NEXT_SCHEDULED_START_TIME_ASC"
    END_TIME_DESC = "END_TIME_DESC"


class TaskRunSort(_SortEnum):
    ID_DESC = "ID_DESC"
    EXPECTED_START_TIME_ASC = "EXPECTED_START_TIME_ASC"
    EXPECTED_START_TIME_DESC = "EXPECTED_START_TIME_DESC"
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"
    NEXT_SCHEDULED_START_TIME_ASC = "NEXT_SCHEDULED_START_TIME_ASC"
    END_TIME_DESC = "END_TIME_DESC"
    DURATION_DESC = "DURATION_DESC"
    DURATION_ASC = "DURATION_ASC"


class LogSort(_SortEnum):
    TIMESTAMP_ASC = "TIMESTAMP_ASC"
    TIMESTAMP_DESC = "TIMESTAMP_DESC"


class FlowSort(_SortEnum):
    CREATED_DESC = "CREATED_DESC"
    UPDATED_DESC = "UPDATED_DESC"
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"


class DeploymentSort(_SortEnum):
    CREATED_DESC = "CREATED_DESC"
    UPDATED_DESC = "UPDATED_DESC"
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"


class ArtifactSort(_SortEnum):
    CREATED_DESC = "CREATED_DESC"
    UPDATED_DESC = "UPDATED_DESC"
    ID_DESC = "ID_DESC"
    KEY_DESC = "KEY_DESC"
    KEY_ASC = "KEY_ASC"


class ArtifactCollectionSort(_SortEnum):
    CREATED_DESC = "CREATED_DESC"
    UPDATED_DESC = "UPDATED_DESC"
    ID_DESC = "ID_DESC"
    KEY_DESC = "KEY_DESC"
    KEY_ASC = "KEY_ASC"


class VariableSort(_SortEnum):
    CREATED_DESC = "CREATED_DESC"
    UPDATED_DESC = "UPDATED_DESC"
    NAME_DESC = "NAME_DESC"
    NAME_ASC = "NAME_ASC"


class BlockDocumentSort(_SortEnum):
    NAME_DESC = "NAME_DESC"
    NAME_ASC = "NAME_ASC"
    BLOCK_TYPE_AND_NAME_ASC = "BLOCK_TYPE_AND_NAME_ASC"


# --- evaluation ----------------------------------------------------------------

Getter = Callable[[Any], Any]
Column = tuple[Getter, bool]  # (value getter, descending)


def _attr(name: str) -> Getter:
    return lambda obj: getattr(obj, name, None)


def _coalesce(*names: str) -> Getter:
    def get(obj: Any) -> Any:
        for name in names:
            value = getattr(obj, name, None)
            if value is not None:
                return value
        return None

    return get


def _asc(getter: Getter | str) -> Column:
    return (_attr(getter) if isinstance(getter, str) else getter, False)


def _desc(getter: Getter | str) -> Column:
    return (_attr(getter) if isinstance(getter, str) else getter, True)


_ID_DESC = _desc("id")

_COLUMNS: dict[type[_SortEnum], dict[str, list[Column]]] = {
    FlowRunSort: {
        "ID_DESC": [_ID_DESC],
        # "start time" means actual start, else the expected one (SQL COALESCE).
        "START_TIME_ASC": [_asc(_coalesce("start_time", "expected_start_time"))],
        "START_TIME_DESC": [_desc(_coalesce("start_time", "expected_start_time"))],
        "EXPECTED_START_TIME_ASC": [_asc("expected_start_time")],
        "EXPECTED_START_TIME_DESC": [_desc("expected_start_time")],
        "NAME_ASC": [_asc("name")],
        "NAME_DESC": [_desc("name")],
        "NEXT_SCHEDULED_START_TIME_ASC": [_asc("next_scheduled_start_time")],
        "END_TIME_DESC": [_desc("end_time")],
    },
    TaskRunSort: {
        "ID_DESC": [_ID_DESC],
        "EXPECTED_START_TIME_ASC": [_asc("expected_start_time")],
        "EXPECTED_START_TIME_DESC": [_desc("expected_start_time")],
        "NAME_ASC": [_asc("name")],
        "NAME_DESC": [_desc("name")],
        "NEXT_SCHEDULED_START_TIME_ASC": [_asc("next_scheduled_start_time")],
        "END_TIME_DESC": [_desc("end_time")],
        # The reference breaks duration ties by expected start (desc) then id (desc),
        # in both directions.
        "DURATION_DESC": [_desc("estimated_run_time"), _desc("expected_start_time"), _ID_DESC],
        "DURATION_ASC": [_asc("estimated_run_time"), _desc("expected_start_time"), _ID_DESC],
    },
    LogSort: {
        "TIMESTAMP_ASC": [_asc("timestamp")],
        "TIMESTAMP_DESC": [_desc("timestamp")],
    },
    FlowSort: {
        "CREATED_DESC": [_desc("created")],
        "UPDATED_DESC": [_desc("updated")],
        "NAME_ASC": [_asc("name")],
        "NAME_DESC": [_desc("name")],
    },
    DeploymentSort: {
        "CREATED_DESC": [_desc("created")],
        "UPDATED_DESC": [_desc("updated")],
        "NAME_ASC": [_asc("name")],
        "NAME_DESC": [_desc("name")],
    },
    ArtifactSort: {
        "CREATED_DESC": [_desc("created")],
        "UPDATED_DESC": [_desc("updated")],
        "ID_DESC": [_ID_DESC],
        "KEY_DESC": [_desc("key")],
        "KEY_ASC": [_asc("key")],
    },
    ArtifactCollectionSort: {
        "CREATED_DESC": [_desc("created")],
        "UPDATED_DESC": [_desc("updated")],
        "ID_DESC": [_ID_DESC],
        "KEY_DESC": [_desc("key")],
        "KEY_ASC": [_asc("key")],
    },
    VariableSort: {
        "CREATED_DESC": [_desc("created")],
        "UPDATED_DESC": [_desc("updated")],
        "NAME_DESC": [_desc("name")],
        "NAME_ASC": [_asc("name")],
    },
    BlockDocumentSort: {
        "NAME_DESC": [_desc("name")],
        "NAME_ASC": [_asc("name")],
        "BLOCK_TYPE_AND_NAME_ASC": [_asc("block_type_name"), _asc("name")],
    },
}


@total_ordering
class _SortValue:
    """One column of a sort key: NULL above every value, optionally reversed."""

    __slots__ = ("descending", "value")

    def __init__(self, value: Any, descending: bool) -> None:
        self.value = value
        self.descending = descending

    def _rank(self) -> tuple[int, Any]:
        return (1, None) if self.value is None else (0, self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _SortValue) and self.value == other.value

    def __lt__(self, other: _SortValue) -> bool:
        (a_null, a), (b_null, b) = self._rank(), other._rank()
        if a_null != b_null:
            less = a_null < b_null
        elif a_null:  # both NULL
            return False
        else:
            if a == b:
                return False
            less = a < b
        return not less if self.descending else less

    def __hash__(self) -> int:  # pragma: no cover - keys are never hashed
        return hash(self.value)


def sort_columns(sort: _SortEnum) -> list[Column]:
    """The ORDER BY columns for a sort value, with the id tiebreak appended."""
    columns = list(_COLUMNS[type(sort)][sort.value])
    if columns[-1] is not _ID_DESC:
        columns.append(_ID_DESC)
    return columns


def sort_key(sort: _SortEnum) -> tuple[Callable[[Any], tuple[_SortValue, ...]], bool]:
    """(key function, reverse) for `sorted()`; directions live in the key, so reverse is False."""
    columns = sort_columns(sort)

    def key(obj: Any) -> tuple[_SortValue, ...]:
        return tuple(_SortValue(get(obj), descending) for get, descending in columns)

    return key, False


def apply_sort(items: Iterable[T], sort: _SortEnum) -> list[T]:
    """Items ordered as the reference's ORDER BY for `sort` would return them."""
    key, reverse = sort_key(sort)
    return sorted(items, key=key, reverse=reverse)


def paginate(items: Sequence[T], offset: int, limit: int | None) -> list[T]:
    """OFFSET/LIMIT over an already sorted list."""
    end = None if limit is None else offset + limit
    return list(items[offset:end])


__all__ = [
    "ArtifactCollectionSort",
    "ArtifactSort",
    "BlockDocumentSort",
    "DeploymentSort",
    "FlowRunSort",
    "FlowSort",
    "LogSort",
    "TaskRunSort",
    "VariableSort",
    "apply_sort",
    "paginate",
    "sort_columns",
    "sort_key",
]
