"""Key-building helpers shared by repositories: sortable timestamps and prefixes."""

from __future__ import annotations

import datetime
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel

from shared.storage.table import TableItem

M = TypeVar("M", bound=BaseModel)

# Sorts after every ISO timestamp, so "no time yet" lands last ascending.
NO_TIME = "~"


def sortable_time(value: datetime.datetime | None) -> str:
    """Fixed-width UTC ISO string: lexical order == chronological order."""
    if value is None:
        return NO_TIME
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def key(prefix: str, value: UUID | str) -> str:
    return f"{prefix}#{value}"


def decode(item: TableItem, model: type[M]) -> M:
    if item.body is None:
        raise ValueError(f"Item {item.PK}/{item.SK} has no body")
    return model.model_validate_json(item.body)


def epoch_seconds(value: datetime.datetime) -> int:
    return int(value.timestamp())
