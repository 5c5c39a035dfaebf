"""State type/name pairs seen in run transitions (Prefect 3.9.1 `GET /observed-states`)."""

from __future__ import annotations

import enum

from pydantic import BaseModel, Field

from shared.schemas.types import DateTime


class ObservedStateSort(str, enum.Enum):
    NAME_ASC = "NAME_ASC"
    LAST_SEEN_DESC = "LAST_SEEN_DESC"


class ObservedState(BaseModel):
    """An exact state type/name pair and the bounds of its transitions."""

    state_type: str = Field(description="The state type.")
    state_name: str = Field(description="The exact state name.")
    first_seen: DateTime = Field(description="Earliest observed transition timestamp.")
    last_seen: DateTime = Field(description="Latest observed transition timestamp.")


__all__ = ["ObservedState", "ObservedStateSort"]
