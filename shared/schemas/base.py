"""Base models shared by every schema.

Prefect's API ignores unknown fields (newer clients may send more) and serialises
timedeltas as float seconds; these bases keep that contract in one place.
"""

from __future__ import annotations

import datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas.types import DateTime


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class APIBaseModel(BaseModel):
    """Every payload: unknown fields are ignored, as the reference server does.

    defer_build: a Lambda imports many models it never uses (issue #13: building every schema at import was
    ~90 ms of each cold start); pydantic builds a model's validator on its first use instead.
    """

    model_config: ClassVar[ConfigDict] = ConfigDict(
        extra="ignore",
        ser_json_timedelta="float",
        populate_by_name=True,
        defer_build=True,
    )


class ActionBaseModel(BaseModel):
    """Create/update payloads: the reference forbids unknown fields here (422). Built on first use, as
    APIBaseModel (cold start)."""

    model_config: ClassVar[ConfigDict] = ConfigDict(
        extra="forbid",
        ser_json_timedelta="float",
        populate_by_name=True,
        defer_build=True,
    )


class ObjectBaseModel(APIBaseModel):
    """A stored object: server-assigned id and created/updated timestamps."""

    id: UUID = Field(default_factory=uuid4)
    # DateTime (not bare datetime) so naive timestamps are read as UTC, as the reference does.
    created: DateTime | None = None
    updated: DateTime | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
