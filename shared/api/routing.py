"""The router every domain declares its routes on (as the reference's PrefectRouter)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from shared.api.null_defaults import NullMeansDefaultRoute


class ServerflowRouter(APIRouter):
    """An APIRouter whose routes read an explicit JSON null body parameter as absent (shared.api.null_defaults)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", NullMeansDefaultRoute)
        super().__init__(**kwargs)
