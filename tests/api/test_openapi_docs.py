"""Every route is documented in the OpenAPI (a summary and a description, as the reference's routers), and
/api/docs shows them as a page that needs no CDN (it reads the same on an offline machine)."""

from __future__ import annotations

import html
from typing import Any

import httpx
import pytest


@pytest.fixture(scope="module")
def spec(api_url: str) -> dict[str, Any]:
    response = httpx.get(f"{api_url}/openapi.json", timeout=30)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def test_every_route_has_a_summary_and_a_description(spec: dict[str, Any]) -> None:
    undocumented = [
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if not (operation.get("summary") and operation.get("description", "").strip())
    ]
    assert len(spec["paths"]) > 100
    assert not undocumented, undocumented


def test_docs_page_lists_every_route_and_loads_nothing_from_elsewhere(
    client: httpx.Client, spec: dict[str, Any]
) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    missing = [path for path in spec["paths"] if f"<code>{html.escape(path)}</code>" not in page.text]
    assert not missing, missing
    assert "Create Flow Run" in page.text and "Read Work Pool" in page.text
    assert "<script" not in page.text and "<link" not in page.text and "cdn" not in page.text.lower()
