"""/ui/schemas routes: validate form values against a JSON schema (Prefect 3.9.1 `api/ui/schemas.py`)."""

from __future__ import annotations

from typing import Any

from fastapi import Body, HTTPException, status

from shared.api.routing import ServerflowRouter
from shared.schemas._jsonschema_tools import SchemaValidationError
from shared.schemas.schema_values import validate_values
from shared.schemas.ui import SchemaValuesValidationResponse

router = ServerflowRouter(prefix="/ui/schemas", tags=["UI", "Schemas"])


@router.post("/validate", description="Validate values against a JSON schema; errors are nested by property and index.")
def validate_obj(
    json_schema: dict[str, Any] = Body(
        ..., embed=True, alias="schema", json_schema_extra={"additionalProperties": True}
    ),
    values: dict[str, Any] = Body(..., embed=True, json_schema_extra={"additionalProperties": True}),
) -> SchemaValuesValidationResponse:
    try:
        return SchemaValuesValidationResponse(**validate_values(values, json_schema))
    except SchemaValidationError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from exc
