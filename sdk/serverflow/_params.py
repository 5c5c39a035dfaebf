"""Binding call arguments to parameter dicts, validating them from type hints, run-name templates."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import cache
from typing import Any

from .exceptions import ParameterValidationError


@cache
def signature(fn: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(fn)


def bind(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Call arguments as a name -> value dict, defaults applied (what prefect reports as parameters)."""
    try:
        bound = signature(fn).bind(*args, **kwargs)
    except TypeError as exc:
        raise ParameterValidationError(f"{fn.__qualname__}: {exc}") from None
    bound.apply_defaults()
    return dict(bound.arguments)


def call_with(fn: Callable[..., Any], parameters: dict[str, Any]) -> Any:
    """Call ``fn`` with a parameter dict, honouring positional-only, *args and **kwargs parameters."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for name, param in signature(fn).parameters.items():
        if name not in parameters:
            continue
        value = parameters[name]
        if param.kind is param.VAR_POSITIONAL:
            args.extend(value)
        elif param.kind is param.VAR_KEYWORD:
            kwargs.update(value)
        elif param.kind is param.POSITIONAL_ONLY:
            args.append(value)
        else:
            kwargs[name] = value
    return fn(*args, **kwargs)


@cache
def _validator(fn: Callable[..., Any]) -> Any:
    from pydantic import ConfigDict, create_model

    fields: dict[str, Any] = {}
    hints: dict[str, Any] = {}
    try:
        hints = inspect.get_annotations(fn, eval_str=True)
    except Exception:  # noqa: BLE001 - an annotation that cannot be evaluated leaves the parameter untyped
        hints = {}
    for name, param in signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = hints.get(name, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (annotation, default)
    return create_model(f"{fn.__name__}_parameters", __config__=ConfigDict(arbitrary_types_allowed=True), **fields)


def validate(fn: Callable[..., Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """Coerce and check parameters against the function's type hints, as prefect does for flows."""
    from pydantic import ValidationError

    model = _validator(fn)
    plain = {k: v for k, v in parameters.items() if k in model.model_fields}
    try:
        validated = model.model_validate(plain)
    except ValidationError as exc:
        raise ParameterValidationError(f"Invalid parameters for flow {fn.__name__!r}: {exc}") from None
    result = dict(parameters)
    for name in plain:
        result[name] = getattr(validated, name)
    return result


def jsonable(value: Any) -> Any:
    """Parameters as JSON for the API; values JSON cannot carry are sent as their repr."""
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value, fallback=repr)


def run_name(template: str | Callable[[], str] | None, parameters: dict[str, Any]) -> str | None:
    if template is None:
        return None
    if callable(template):
        return str(template())
    return template.format(**parameters)
