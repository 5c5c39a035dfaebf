"""`GET /ui-settings`: what Prefect's UI needs to find the API (served at the root, beside the UI).

The API URL is this request's own origin + `/api` (the UI is served from the same origin as the
API, locally and through CloudFront), unless `SERVERFLOW_UI_API_URL` says otherwise. On AWS the
CloudFront function in front of this route passes the viewer's host as `X-Forwarded-Host`.
"""

from __future__ import annotations

import os

from fastapi import Request

from shared.api.routing import ServerflowRouter
from shared.config import get_settings
from shared.schemas.ui_settings import UISettings

router = ServerflowRouter(tags=["UI"])

V1_BASE_URL = "/"
V2_BASE_URL = "/v2"


def _api_url(request: Request) -> str:
    configured = os.environ.get("SERVERFLOW_UI_API_URL")
    if configured:
        return configured
    host = request.headers.get("x-forwarded-host") or request.headers.get("host") or request.url.netloc
    scheme = request.headers.get("x-forwarded-proto") or request.url.scheme
    return f"{scheme}://{host}/api"


@router.get("/ui-settings", description="Runtime configuration of Prefect's UI: API URL, auth, available UIs.")
def ui_settings(request: Request) -> UISettings:
    return UISettings(
        api_url=_api_url(request),
        # Serverflow authenticates with a bearer key, never cookies (docs/compatibility.md).
        csrf_enabled=False,
        auth="BASIC" if get_settings().api_key else None,
        flags=[],
        default_ui="v2",
        available_uis=["v1", "v2"],
        v1_base_url=V1_BASE_URL,
        v2_base_url=V2_BASE_URL,
    )
