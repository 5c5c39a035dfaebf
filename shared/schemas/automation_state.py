"""Trigger evaluation state kept between events (not part of Prefect's API)."""

from __future__ import annotations

import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas.events import ReceivedEvent


class Bucket(BaseModel):
    """One counting window of an event trigger for one for_each key."""

    model_config: ClassVar[ConfigDict] = ConfigDict(defer_build=True)  # built on first use (cold start)
    bucketing_key: tuple[str, ...]
    start: datetime.datetime
    end: datetime.datetime
    count: int = 0
    last_event: ReceivedEvent | None = None
    # Ids of the events counted in this window: a redelivered event is not counted twice.
    counted: list[str] = Field(default_factory=list)
