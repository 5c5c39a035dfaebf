"""Job variables: work pool base template -> deployment -> flow run, merged and checked.

Pure versions of the reference's `server/api/validation.py` rules:
- later layers override earlier ones (flow run beats deployment beats pool defaults);
- `required` is only enforced for a flow run, the last layer: a deployment may leave
  a required variable for its runs to fill in;
- a pool default that fails its own schema is ignored for deployments and runs
  (old pools have such defaults), and then required fields cannot be checked either;
- block-reference defaults ({"$ref": {"block_document_id": ...}}) are resolved by a
  caller-supplied function, so this module stays free of I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.schemas._jsonschema_tools import SchemaValidationError, check_schema, validate_value

# Resolves a block reference default to the block's data (None: skip that default).
RefResolver = Callable[[Mapping[str, Any]], Any]


class JobVariablesError(ValueError):
    """Job variables do not fit the work pool's schema; str() is the 422 detail."""


def _variables_schema(base_job_template: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not base_job_template:
        return None
    return base_job_template.get("variables") or None


def pool_defaults(
    base_job_template: Mapping[str, Any] | None,
    resolve_ref: RefResolver | None = None,
    drop_invalid: bool = True,
) -> tuple[dict[str, Any], bool]:
    """The pool's default job variables, and whether any invalid default was dropped."""
    schema = _variables_schema(base_job_template)
    defaults: dict[str, Any] = {}
    dropped = False
    if not schema:
        return defaults, dropped
    for name, spec in (schema.get("properties") or {}).items():
        if not isinstance(spec, Mapping) or "default" not in spec:
            continue
        value = spec["default"]
        if isinstance(value, Mapping) and "$ref" in value:
            if resolve_ref is None:
                continue
            value = resolve_ref(value["$ref"])
            if value is None:
                continue
        if drop_invalid:
            try:
                validate_value({name: value}, schema, ignore_required=True)
            except SchemaValidationError:
                dropped = True
                continue
        defaults[name] = value
    return defaults, dropped


def merge_job_variables(
    base_job_template: Mapping[str, Any] | None,
    *layers: Mapping[str, Any] | None,
    resolve_ref: RefResolver | None = None,
) -> dict[str, Any]:
    """Pool defaults overlaid by each layer in turn (deployment, then flow run)."""
    merged, _ = pool_defaults(base_job_template, resolve_ref)
    for layer in layers:
        if layer:
            merged.update(layer)
    return merged


def _check(
    base_job_template: Mapping[str, Any] | None,
    layers: tuple[Mapping[str, Any] | None, ...],
    *,
    ignore_required: bool,
    drop_invalid_defaults: bool,
    resolve_ref: RefResolver | None,
) -> None:
    schema = _variables_schema(base_job_template)
    if not schema:
        return  # nothing to validate against: not an error, as in the reference
    try:
        check_schema(schema)
    except SchemaValidationError as exc:
        raise JobVariablesError(str(exc)) from exc
    defaults, dropped = pool_defaults(base_job_template, resolve_ref, drop_invalid_defaults)
    merged = dict(defaults)
    for layer in layers:
        if layer:
            merged.update(layer)
    validate_value(
        merged,
        schema,
        ignore_required=ignore_required or (drop_invalid_defaults and dropped),
        preprocess=True,
        # Blocks store None for optional fields that have defaults; accept it.
        allow_none_with_default=True,
    )


def validate_deployment_job_variables(
    base_job_template: Mapping[str, Any] | None,
    job_variables: Mapping[str, Any] | None,
    *,
    creating: bool = True,
    resolve_ref: RefResolver | None = None,
) -> None:
    """Deployment create/update: types are checked, required fields are not."""
    if not job_variables:
        return
    try:
        _check(
            base_job_template,
            (job_variables,),
            ignore_required=True,
            drop_invalid_defaults=True,
            resolve_ref=resolve_ref,
        )
    except SchemaValidationError as exc:
        verb = "creating" if creating else "updating"
        raise JobVariablesError(f"Error {verb} deployment: {exc}") from exc


def validate_flow_run_job_variables(
    base_job_template: Mapping[str, Any] | None,
    deployment_job_variables: Mapping[str, Any] | None,
    flow_run_job_variables: Mapping[str, Any] | None,
    *,
    creating: bool = True,
    resolve_ref: RefResolver | None = None,
) -> None:
    """A run from a deployment: the full overlay must satisfy the schema, required included."""
    try:
        _check(
            base_job_template,
            (deployment_job_variables, flow_run_job_variables),
            ignore_required=False,
            drop_invalid_defaults=True,
            resolve_ref=resolve_ref,
        )
    except SchemaValidationError as exc:
        verb = "creating" if creating else "updating"
        raise JobVariablesError(f"Error {verb} flow run: {exc}") from exc


def validate_work_pool_defaults(
    base_job_template: Mapping[str, Any] | None,
    *,
    resolve_ref: RefResolver | None = None,
) -> None:
    """Work pool create/update: every default must fit its own schema."""
    try:
        _check(base_job_template, (), ignore_required=True, drop_invalid_defaults=False, resolve_ref=resolve_ref)
    except SchemaValidationError as exc:
        raise JobVariablesError(f"Validation failed for work pool's job variable defaults: {exc}") from exc
