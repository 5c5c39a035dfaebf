"""Variables: named JSON values (Prefect 3.9.1 `Variable`, `VariableCreate`, `VariableUpdate`)."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from shared.schemas.base import ActionBaseModel, ObjectBaseModel

MAX_VARIABLE_NAME_LENGTH = 255
# The reference measures the value's compact JSON encoding.
MAX_VARIABLE_VALUE_LENGTH = 5000
_NAME_PATTERN = re.compile(r"^[a-z0-9-_]*$")


def check_variable_name(value: str) -> str:
    if not _NAME_PATTERN.match(value):
        raise ValueError("Variable name must only contain lowercase letters, numbers, and dashes or underscores.")
    return value


def check_variable_value(value: object) -> object:
    """The value must be JSON and its compact JSON at most 5000 characters (a 422 otherwise)."""
    try:
        encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        raise ValueError("Variable value must be serializable to JSON") from None
    if value is not None and len(encoded.encode("utf-8")) > MAX_VARIABLE_VALUE_LENGTH:
        raise ValueError(f"Variable value must be less than {MAX_VARIABLE_VALUE_LENGTH} characters")
    return value


VariableName = Annotated[
    str,
    AfterValidator(check_variable_name),
    Field(max_length=MAX_VARIABLE_NAME_LENGTH, description="The name of the variable", examples=["my_variable"]),
]
VariableValue = Annotated[
    StrictStr | StrictInt | StrictBool | StrictFloat | dict[str, Any] | list[Any] | None,
    BeforeValidator(check_variable_value),
]


class Variable(ObjectBaseModel):
    name: str = Field(..., max_length=MAX_VARIABLE_NAME_LENGTH, description="The name of the variable")
    value: VariableValue = Field(..., description="The value of the variable")
    tags: list[str] = Field(default_factory=list, description="A list of variable tags")


class VariableCreate(ActionBaseModel):
    name: VariableName
    value: VariableValue = Field(..., description="The value of the variable")
    tags: list[str] = Field(default_factory=list, description="A list of variable tags")


class VariableUpdate(ActionBaseModel):
    name: VariableName | None = None
    value: VariableValue = Field(None, description="The value of the variable")
    tags: list[str] | None = Field(None, description="A list of variable tags")


__all__ = ["MAX_VARIABLE_VALUE_LENGTH", "Variable", "VariableCreate", "VariableUpdate"]
