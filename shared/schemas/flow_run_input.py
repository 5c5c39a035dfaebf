"""Keyed inputs of a flow run (Prefect 3.9.1 `FlowRunInput`): pause/suspend schemas and responses,
and `send_input`/`receive_input` messages."""

from __future__ import annotations

import re
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, Field

from shared.schemas.base import ObjectBaseModel

_KEY_PATTERN = re.compile(r"^[a-z0-9-]*$")


def check_input_key(value: str) -> str:
    if not _KEY_PATTERN.match(value):
        raise ValueError("key must only contain lowercase letters, numbers, and dashes.")
    return value


InputKey = Annotated[str, AfterValidator(check_input_key)]


class FlowRunInput(ObjectBaseModel):
    flow_run_id: UUID = Field(..., description="The flow run ID associated with the input.")
    key: InputKey = Field(..., description="The key of the input.")
    value: str = Field(..., description="The value of the input.")
    sender: str | None = Field(None, description="The sender of the input.")


__all__ = ["FlowRunInput", "InputKey", "check_input_key"]
