"""`/ui/schemas/validate`: every error of a value against a JSON schema, as a tree the UI renders.

The tree has the reference's shape (`build_error_obj`): root errors are strings; a property's or
an item's errors nest under `{"property": name, "errors": [...]}` / `{"index": i, "errors": [...]}`,
and a missing required field is reported on the field itself. Values may carry the UI's
`{"__prefect_kind": ...}` placeholders: `json` is parsed before validating; the kinds resolved
only when a run is created (jinja templates, workspace variables) are accepted as they are.
"""

from __future__ import annotations

import json
from collections import deque
from typing import TYPE_CHECKING, Any

from shared.schemas._jsonschema_tools import SchemaValidationError, check_schema, preprocess_schema

if TYPE_CHECKING:
    from jsonschema import ValidationError

PREFECT_KIND = "__prefect_kind"


class _Deferred:
    """A placeholder resolved later; matches any schema."""


def _hydrate(value: Any, errors: list[tuple[deque[Any], str]], path: deque[Any]) -> Any:
    if isinstance(value, dict):
        kind = value.get(PREFECT_KIND)
        if kind == "json":
            try:
                return json.loads(value.get("value", ""))
            except (TypeError, ValueError) as exc:
                errors.append((path, f"Invalid JSON: {exc}"))
                return _Deferred()
        if kind == "none":
            return None
        if kind is not None:
            return _Deferred()
        return {k: _hydrate(v, errors, deque([*path, k])) for k, v in value.items()}
    if isinstance(value, list):
        return [_hydrate(v, errors, deque([*path, i])) for i, v in enumerate(value)]
    return value


def _strip_deferred(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_deferred(v) for k, v in value.items() if not isinstance(v, _Deferred)}
    if isinstance(value, list):
        return [None if isinstance(v, _Deferred) else _strip_deferred(v) for v in value]
    return value


def _place(tree: list[Any], path: deque[Any], message: str) -> None:
    current = tree
    while path:
        part = path.popleft()
        label = "index" if isinstance(part, int) else "property"
        entry = next((e for e in current if isinstance(e, dict) and e.get(label) == part), None)
        if entry is None:
            entry = {label: part, "errors": []}
            current.append(entry)
        current = entry["errors"]
    current.append(message)


def validate_values(values: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """`{"errors": [...], "valid": bool}` for `values` against `schema` (raises SchemaValidationError for a bad schema)."""
    # jsonschema and referencing are imported on first use, as in _jsonschema_tools: the ui Lambda imports
    # this module for one of its routes, and they were ~45 ms of its cold start (issue #13).
    import referencing
    import referencing.exceptions
    from jsonschema.validators import Draft202012Validator

    schema = preprocess_schema(schema)
    check_schema(schema)
    found: list[tuple[deque[Any], str]] = []
    hydrated = _strip_deferred(_hydrate(values, found, deque()))
    validator = Draft202012Validator(schema, registry=referencing.Registry())
    try:
        for error in validator.iter_errors(hydrated):
            found.append((_error_path(error), error.message))
    except RecursionError as exc:
        raise SchemaValidationError("Invalid schema: Unable to validate schema with circular references.") from exc
    except referencing.exceptions.Unresolvable as exc:
        raise SchemaValidationError(f"Invalid schema: {exc}") from exc
    tree: list[Any] = []
    for path, message in found:
        _place(tree, path, message)
    return {"errors": tree, "valid": not tree}


def _error_path(error: ValidationError) -> deque[Any]:
    path = deque(error.relative_path)
    if error.validator == "required":
        # Reported on the missing property itself, as the reference.
        path.append(error.message.partition(" ")[0].strip("'"))
    return path
