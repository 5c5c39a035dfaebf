"""JSON-schema checks shared by deployment parameters and work-pool job variables.

Error messages follow the reference ("Validation failed for field 'x'. Failure
reason: ..."), which clients and the UI show verbatim. Remote `$ref`s are never
fetched: an empty registry makes them fail as unresolvable instead.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema


class SchemaValidationError(ValueError):
    """A value does not conform to its JSON schema (message is user-facing)."""


def without_required(schema: Any) -> Any:
    """The schema with every `required` list removed, at any depth."""
    if isinstance(schema, dict):
        return {k: without_required(v) for k, v in schema.items() if k != "required"}
    if isinstance(schema, list):
        return [without_required(v) for v in schema]
    return schema


def _fix_properties(properties: dict[str, Any], required: list[str], allow_none_with_default: bool) -> None:
    for key, prop in properties.items():
        if not isinstance(prop, dict):
            continue
        # Pydantic v1 schemas (still in old work pools) omit null for optional fields.
        if (
            key not in required
            and "type" in prop
            and prop.get("type") != "null"
            and ("default" not in prop or allow_none_with_default)
        ):
            # The reference writes anyOf[type, null]; a type list is equivalent and its
            # error reads "'x' is not of type 'integer', 'null'" instead of "not valid
            # under any of the given schemas".
            kind = prop.pop("type")
            if isinstance(kind, str):
                prop["type"] = [kind, "null"]
            else:
                prop["anyOf"] = [{"type": kind}, {"type": "null"}]
        # ...and write tuples as a list of `items` instead of `prefixItems`.
        if isinstance(prop.get("items"), list) and not prop.get("prefixItems"):
            prop["prefixItems"] = prop.pop("items")
        if isinstance(prop.get("properties"), dict):
            _fix_properties(prop["properties"], prop.get("required", []), allow_none_with_default)


def preprocess_schema(schema: dict[str, Any], allow_none_with_default: bool = False) -> dict[str, Any]:
    """Repair the Pydantic-v1 quirks the reference repairs before validating."""
    schema = copy.deepcopy(schema)
    if isinstance(schema.get("properties"), dict):
        _fix_properties(schema["properties"], schema.get("required", []), allow_none_with_default)
    for definition in (schema.get("definitions") or {}).values():
        if isinstance(definition, dict) and isinstance(definition.get("properties"), dict):
            _fix_properties(definition["properties"], definition.get("required", []), allow_none_with_default)
    return schema


def check_schema(schema: dict[str, Any]) -> None:
    # jsonschema is imported on first use, not at import: the deployments, work pools and flow runs
    # Lambdas load this module but most of their cold starts never validate a schema (issue #13).
    import jsonschema
    from jsonschema.validators import Draft202012Validator

    try:
        Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise SchemaValidationError(f"Invalid schema: {exc.message}") from exc


def _message(exc: jsonschema.ValidationError) -> str:
    if exc.json_path == "$":
        prefix = "Validation failed."
    else:
        prefix = f"Validation failed for field {exc.json_path.replace('$.', '')!r}."
    return f"{prefix} Failure reason: {exc.message}"


def validate_value(
    value: Any,
    schema: dict[str, Any],
    *,
    ignore_required: bool = False,
    preprocess: bool = False,
    allow_none_with_default: bool = False,
) -> None:
    """Raise SchemaValidationError with the first (most relevant) error, if any."""
    if preprocess:
        schema = preprocess_schema(schema, allow_none_with_default)
    if ignore_required:
        schema = without_required(schema)
    # Imported on first use (cold start, see check_schema).
    import jsonschema
    import referencing
    import referencing.exceptions
    from jsonschema.validators import Draft202012Validator

    try:
        jsonschema.validate(value, schema, Draft202012Validator, registry=referencing.Registry())
    except referencing.exceptions.Unresolvable as exc:
        raise SchemaValidationError(f"Validation failed. Failure reason: {exc}") from exc
    except jsonschema.ValidationError as exc:
        raise SchemaValidationError(_message(exc)) from exc
    except jsonschema.SchemaError as exc:
        # A stored schema that is not JSON Schema (e.g. {"type": "nope"}): the caller's 4xx, not a 500.
        raise SchemaValidationError(f"Invalid schema: {exc.message}") from exc
    except RecursionError as exc:
        raise SchemaValidationError("Validation failed. Failure reason: circular schema reference") from exc
