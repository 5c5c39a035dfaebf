"""Explicit JSON `null` for a body parameter means "not given", on every route, whatever FastAPI's version.

The prefect client sends `null` for each optional body parameter it was not given (`read_flows()` posts
`{"sort": null, "offset": 0, ...}`). The reference server (prefect 3.9.1, FastAPI < 0.151) reads a body
parameter whose value is `null` as absent: an optional one takes its default, a required one is reported
missing (422). Newer FastAPI validates the `null` against the parameter's type instead, so
`sort: FlowSort = Body(FlowSort.NAME_ASC)` would answer 422 to the real client.

One mechanism for all routes, the route class of every router (`shared.api.routing.ServerflowRouter`):
before a route parses its body, the keys of its embedded body parameters whose value is `null` are
dropped, and a body that is `null` as a whole is read as no body. FastAPI then applies its own rules for
an absent parameter: the declared default, or 422 "Field required". Fields inside a body model are
pydantic's business, as on the reference.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute


@dataclass(frozen=True)
class BodyShape:
    """How a route reads its JSON body: by embedded parameter names, or as one value."""

    embedded: bool
    # JSON keys of the embedded body parameters (their aliases).
    keys: frozenset[str]


def body_shape(dependant: Dependant) -> BodyShape | None:
    """A route's body parameters, including those declared by its dependencies; None without any.

    Embedded exactly when FastAPI embeds: more than one body parameter name, or one declared `embed=True`.
    """
    params = _body_params(dependant)
    if not params:
        return None
    names = {param.name for param in params}
    embedded = len(names) > 1 or bool(getattr(params[0].field_info, "embed", False))
    return BodyShape(embedded=embedded, keys=frozenset(param.alias for param in params))


def _body_params(dependant: Dependant) -> list[Any]:
    """Body parameters of the endpoint and of all its (nested) dependencies, endpoint's first."""
    params = list(dependant.body_params)
    for sub in dependant.dependencies:
        params.extend(_body_params(sub))
    return params


def drop_nulls(body: bytes, shape: BodyShape) -> bytes | None:
    """The body with null parameters removed, or None when nothing changes (or it is not JSON)."""
    if body.strip() == b"null":
        # `null` as the whole body: no body at all.
        return b""
    if not shape.embedded or not body:
        # A single body value (e.g. a batch of logs) is never parsed twice.
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    nulls = [key for key in shape.keys if key in document and document[key] is None]
    if not nulls:
        return None
    for key in nulls:
        del document[key]
    return json.dumps(document).encode()


class _NullsDroppedRequest(Request):
    """The request as the route reads it: its JSON body with null parameters dropped (see `drop_nulls`)."""

    def __init__(self, request: Request, shape: BodyShape) -> None:
        super().__init__(request.scope, request.receive)
        self._shape = shape

    async def body(self) -> bytes:
        if not hasattr(self, "_rewritten"):
            rewritten = drop_nulls(await super().body(), self._shape)
            if rewritten is not None:
                # Starlette's Request caches the body in _body; json() and form() read it from there.
                self._body = rewritten
            self._rewritten = True
        return self._body


class NullMeansDefaultRoute(APIRoute):
    """FastAPI's documented extension point (a custom APIRoute class, as prefect's PrefectAPIRoute): the
    endpoint's request handler is given the request with null body parameters dropped."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        shape = body_shape(self.dependant)
        if shape is None:
            return handler

        async def null_means_default(request: Request) -> Response:
            return await handler(_NullsDroppedRequest(request, shape))

        return null_means_default
