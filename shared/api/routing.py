"""The router every domain declares its routes on (as the reference's PrefectRouter)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from shared.api.null_defaults import NullMeansDefaultRoute
from shared.api.route_models import complete_models, route_models


class ServerflowRouter(APIRouter):
    """An APIRouter whose routes read an explicit JSON null body parameter as absent (shared.api.null_defaults),
    and build the models they use once, before FastAPI analyses them (shared.api.route_models)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", NullMeansDefaultRoute)
        super().__init__(**kwargs)

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        complete_models(route_models(endpoint, kwargs.get("response_model"), kwargs.get("dependencies")))
        super().add_api_route(path, endpoint, **kwargs)
