"""App factory: one domain's router for a Lambda, or every domain for the local stack."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from shared.api.docs_page import install_docs_page
from shared.api.errors import install_error_handlers
from shared.api.middleware import GuardMiddleware
from shared.api.null_defaults import NullMeansDefaultRoute
from shared.api.registry import DOMAIN_ROUTERS, ROOT_DOMAINS, load_router
from shared.config import get_settings

API_PREFIX = "/api"


def route_prefix(domain: str) -> str:
    """Where a domain's routes are served: under /api, or at the root (ROOT_DOMAINS)."""
    return "" if domain in ROOT_DOMAINS else API_PREFIX


def _require_null_defaults(app: FastAPI) -> None:
    """Every route must read an explicit null as its default (issue #9): a router declared as a plain
    APIRouter instead of a ServerflowRouter would silently bring the 422s back, so the app refuses to build."""
    for route in app.routes:
        if isinstance(route, APIRoute) and not isinstance(route, NullMeansDefaultRoute):
            raise TypeError(
                f"{sorted(route.methods or ())} {route.path} is declared on a plain APIRouter; use ServerflowRouter"
            )


def create_app(domains: Iterable[str] | None = None) -> FastAPI:
    names = list(domains) if domains is not None else list(DOMAIN_ROUTERS)
    app = FastAPI(
        title="Serverflow",
        description="The Prefect 3 orchestration API, serverless on AWS.",
        version="3.9.1",
        # /api/docs is our own page (shared/api/docs_page.py): FastAPI's loads Swagger UI from a CDN.
        docs_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
        redoc_url=None,
    )
    for name in names:
        app.include_router(load_router(name), prefix=route_prefix(name))
    _require_null_defaults(app)
    install_docs_page(app, f"{API_PREFIX}/docs")
    install_error_handlers(app)
    app.add_middleware(GuardMiddleware)
    # Outermost, as on the reference: preflights are answered before the auth guard (they carry no
    # credentials) and error responses get the CORS headers too. On AWS the HTTP API's CorsConfiguration,
    # made from the same template parameters, answers preflights at the gateway.
    settings = get_settings()
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_allowed_origins),
        allow_methods=list(settings.cors_allowed_methods),
        allow_headers=list(settings.cors_allowed_headers),
    )
    return app
