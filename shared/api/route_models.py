"""Build each pydantic model a route uses once, children first, when the route is declared (issue #13).

The schema models are `defer_build` (shared.schemas.base): a Lambda imports many it never uses. But FastAPI
builds a validator for every `Model | None`, `list[Model]` parameter or response and for the combined body
model of a route with several body parameters, and pydantic does not keep the schema of a deferred model
it generates along the way: each of those regenerated the whole tree (a filter route's six filters, for
each such route, twice with include_router). Completing the models a route reaches, leaves first, lets
every later schema reuse them; a model no route reaches stays deferred.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Annotated, Any, get_args, get_origin

from fastapi import params
from pydantic import BaseModel


def _annotation_models(annotation: Any) -> Iterator[type[BaseModel]]:
    """The model classes named in an annotation (through unions, containers and Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    if get_origin(annotation) is Annotated:
        yield from _annotation_models(get_args(annotation)[0])
        return
    for arg in get_args(annotation):
        yield from _annotation_models(arg)


def _dependency(value: Any) -> Callable[..., Any] | None:
    return value.dependency if isinstance(value, params.Depends) else None


def _signature_parts(call: Callable[..., Any]) -> tuple[list[Any], list[Callable[..., Any]]]:
    """The annotations (return included) and the sub-dependencies of a callable's signature."""
    try:
        signature = inspect.signature(call, eval_str=True)
    except (NameError, TypeError, ValueError):
        # FastAPI reports an unresolvable signature itself when it analyses the route.
        return [], []
    annotations: list[Any] = [signature.return_annotation]
    dependencies: list[Callable[..., Any]] = []
    for parameter in signature.parameters.values():
        annotations.append(parameter.annotation)
        metadata = get_args(parameter.annotation)[1:] if get_origin(parameter.annotation) is Annotated else ()
        for value in (parameter.default, *metadata):
            dependency = _dependency(value)
            if dependency is not None:
                dependencies.append(dependency)
    return annotations, dependencies


def route_models(
    endpoint: Callable[..., Any], response_model: Any, dependencies: Sequence[Any] | None
) -> list[type[BaseModel]]:
    """Every model a route's endpoint, dependencies and response model name, in the order met."""
    found: dict[type[BaseModel], None] = {}
    calls: list[Callable[..., Any]] = [endpoint, *filter(None, (_dependency(d) for d in dependencies or ()))]
    seen_calls: set[int] = set()
    annotations: list[Any] = [response_model]
    while calls:
        call = calls.pop()
        if id(call) in seen_calls:
            continue
        seen_calls.add(id(call))
        more, subs = _signature_parts(call)
        annotations.extend(more)
        calls.extend(subs)
    for annotation in annotations:
        if _bare_model(annotation):
            # FastAPI defers the validator of a bare deferred model itself: built on the route's first call.
            continue
        for model in _annotation_models(annotation):
            found.setdefault(model)
    return list(found)


def _bare_model(annotation: Any) -> bool:
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def complete_models(models: Iterable[type[BaseModel]]) -> None:
    """model_rebuild each incomplete model after the incomplete models its fields name (leaves first)."""
    visiting: set[type[BaseModel]] = set()

    def complete(model: type[BaseModel]) -> None:
        if model.__pydantic_complete__ or model in visiting:
            return
        visiting.add(model)
        for field in model.model_fields.values():
            for child in _annotation_models(field.annotation):
                complete(child)
        # raise_errors off: a model whose forward references cannot resolve yet stays deferred, as before.
        model.model_rebuild(raise_errors=False)

    for model in models:
        complete(model)
