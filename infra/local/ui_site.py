"""Serve Prefect's built UI (infra/ui_assets.py) beside /api on the local stack's port.

The same rules as the CloudFront function in template.yaml (`UiRequestRouter`), which does this
on AWS in front of the UI bucket:
- a browser navigating to `/` goes to the default UI, v2 (`/v2/`), unless its `prefect_ui_version`
  cookie asks for v1 (as the reference server's redirect);
- a path whose last segment has a dot is a file of the site (404 when absent);
- any other path is a client-side route: the bundle's `index.html` (v2 under `/v2`, else v1).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Match

from infra.ui_assets import V2_BASE_URL

UI_VERSION_COOKIE = "prefect_ui_version"


def is_html_navigation(request: Request) -> bool:
    if request.headers.get("sec-fetch-mode") == "navigate" or request.headers.get("sec-fetch-dest") in {
        "document",
        "iframe",
    }:
        return True
    return "text/html" in request.headers.get("accept", "").lower()


def site_path(path: str) -> str:
    """The site file that answers `path` (relative to the site root)."""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if "." in last:
        return path.lstrip("/")
    if path == V2_BASE_URL or path.startswith(f"{V2_BASE_URL}/"):
        return f"{V2_BASE_URL.lstrip('/')}/index.html"
    return "index.html"


class UiSite:
    """The endpoint for every request no API route took."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @staticmethod
    def _other_slash_route(request: Request) -> str | None:
        """The URL with its trailing slash added or removed, if an API route serves that path."""
        path = request.url.path
        other = path.rstrip("/") if path.endswith("/") else f"{path}/"
        scope = {**request.scope, "path": other}
        for route in request.scope["router"].routes:
            if (
                getattr(route, "endpoint", None) is not None
                and getattr(route.endpoint, "__self__", None) is not None
                and isinstance(route.endpoint.__self__, UiSite)
            ):
                continue  # the catch-all itself
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return str(request.url.replace(path=other))
        return None

    async def respond(self, request: Request) -> Response:
        path = request.url.path
        if path == "/api" or path.startswith("/api/") or request.method not in ("GET", "HEAD"):
            # This catch-all matches before Starlette's slash redirect would run: do that redirect here,
            # so `/api/x/` reaches the route `/api/x` exactly as without the UI.
            other = self._other_slash_route(request)
            if other is not None:
                return RedirectResponse(other, status_code=307)
            # What the API answers for a route it does not have (never the UI's index.html).
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        if path == "/" and is_html_navigation(request) and request.cookies.get(UI_VERSION_COOKIE) != "v1":
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"{V2_BASE_URL}/{query}", status_code=307)
        target = (self.root / site_path(path)).resolve()
        if not target.is_relative_to(self.root) or not target.is_file():
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return FileResponse(target)
