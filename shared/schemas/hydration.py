"""Hydrate `{"__prefect_kind": ...}` placeholders the UI puts in values (resume `run_input`):
"none", "json", "jinja", "workspace_variable"; an unknown kind yields its "value". Behaviour of
the reference's hydration with raise_on_error, render_jinja and render_workspace_variables on:
the first problem raises HydrationError with the reference's message."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

KIND = "__prefect_kind"
# A lookup of a workspace variable's value by name: (found, value).
VariableLookup = Callable[[str], tuple[bool, Any]]


@lru_cache(maxsize=1)
def _jinja() -> ImmutableSandboxedEnvironment:
    # jinja2 is imported on the first "jinja" placeholder: the flow_runs Lambda imports this module for
    # every resume, and jinja2 was ~20 ms of its cold start (issue #13).
    from jinja2 import ChainableUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(undefined=ChainableUndefined)


class HydrationError(ValueError):
    """A placeholder that cannot be resolved (message as the reference words it)."""


class _Remove:
    """A placeholder without its value key: dropped from its parent, as the reference does."""


_REMOVE = _Remove()


def _required(obj: dict[str, Any], key: str) -> Any:
    if key not in obj:
        raise HydrationError(f"Missing '{key}' key in __prefect object")
    return obj[key]


def _json(obj: dict[str, Any], lookup: VariableLookup) -> Any:
    if "value" not in obj:
        return _REMOVE
    value = _hydrate(obj["value"], lookup) if isinstance(obj["value"], dict) else obj["value"]
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise HydrationError(f"Invalid JSON: {exc}") from None


def _jinja_template(obj: dict[str, Any], lookup: VariableLookup) -> Any:
    # Imported here with jinja2 (cold start, see _jinja): only "jinja" placeholders need them.
    from jinja2 import TemplateSyntaxError

    from shared.schemas.templates import TemplateSecurityError, validate_user_template

    template = _required(obj, "template")
    if isinstance(template, dict):
        template = _hydrate(template, lookup)
    try:
        validate_user_template(template)
    except (TemplateSyntaxError, TemplateSecurityError) as exc:
        raise HydrationError(f"Invalid jinja: {exc}") from None
    if "{{" not in template and "{%" not in template:
        return template
    try:
        return _jinja().from_string(template).render({})
    except Exception as exc:  # noqa: BLE001 - any render failure is the user's template
        raise HydrationError(f"Invalid jinja: Failed to render template due to the following error: {exc!r}") from None


def _workspace_variable(obj: dict[str, Any], lookup: VariableLookup) -> Any:
    if "variable_name" not in obj:
        return _REMOVE
    name = obj["variable_name"]
    if isinstance(name, dict):
        name = _hydrate(name, lookup)
    found, value = lookup(name) if isinstance(name, str) else (False, None)
    if not found:
        raise HydrationError(f"Variable '{name}' not found in workspace.")
    return value


def _placeholder(obj: dict[str, Any], lookup: VariableLookup) -> Any:
    kind = obj[KIND]
    if kind == "none":
        return _hydrate(_required(obj, "value"), lookup)
    if kind == "json":
        return _json(obj, lookup)
    if kind == "jinja":
        return _jinja_template(obj, lookup)
    if kind == "workspace_variable":
        return _workspace_variable(obj, lookup)
    return obj.get("value")


def _hydrate(obj: Any, lookup: VariableLookup) -> Any:
    if isinstance(obj, dict) and KIND in obj:
        return _placeholder(obj, lookup)
    if isinstance(obj, dict):
        pairs = ((k, _hydrate(v, lookup)) for k, v in obj.items())
        return {k: v for k, v in pairs if v is not _REMOVE}
    if isinstance(obj, list):
        items = (_hydrate(v, lookup) for v in obj)
        return [v for v in items if v is not _REMOVE]
    return obj


def hydrate(obj: dict[str, Any], lookup: VariableLookup) -> dict[str, Any]:
    result = _hydrate(obj, lookup)
    return {} if result is _REMOVE else result


__all__ = ["HydrationError", "VariableLookup", "hydrate"]
