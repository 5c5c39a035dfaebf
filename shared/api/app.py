"""App factory: one domain's router for a Lambda, or every domain for the local stack."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared.api.errors import install_error_handlers
from shared.api.middleware import BodyTooLarge, GuardMiddleware
from shared.api.registry import DOMAIN_ROUTERS, ROOT_DOMAINS, load_router

API_PREFIX = "/api"


def route_prefix(domain: str) -> str:
    """Where a domain's routes are served: under /api, or at the root (ROOT_DOMAINS)."""
    return "" if domain in ROOT_DOMAINS else API_PREFIX


async def _body_too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
    return JSONResponse(status_code=413, content={"detail": str(exc)})


def create_app(domains: Iterable[str] | None = None) -> FastAPI:
    names = list(domains) if domains is not None else list(DOMAIN_ROUTERS)
    app = FastAPI(
        title="Serverflow",
        description="The Prefect 3 orchestration API, serverless on AWS.",
        version="3.9.1",
        docs_url=f"{API_PREFIX}/docs",
        openapi_url=f"{API_PREFIX}/openapi.json",
        redoc_url=None,
    )
    for name in names:
        app.include_router(load_router(name), prefix=route_prefix(name))
    install_error_handlers(app)
    app.add_exception_handler(BodyTooLarge, _body_too_large)  # type: ignore[arg-type]
    app.add_middleware(GuardMiddleware)
    return app
