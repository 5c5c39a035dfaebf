"""/api/docs: the API reference as one self-contained HTML page.

FastAPI's default page loads Swagger UI's script and stylesheet from a CDN, so it stays blank wherever that
host cannot be reached (an offline laptop running `python3 dev start`, a locked-down network). This page is
rendered on the server from the app's own OpenAPI document: every route with its summary, description and
parameters, readable with no network and no JavaScript. /api/openapi.json stays the machine-readable form.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import HTMLResponse

_METHODS = ("get", "post", "put", "patch", "delete")
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;line-height:1.45}"
    "code{background:#f3f3f3;padding:.1em .3em;border-radius:3px}"
    "section{border-top:1px solid #ddd;margin-top:1.5em}"
    ".op{margin:1em 0 1.5em}.op p{white-space:pre-wrap;margin:.3em 0}"
    ".method{font-weight:bold;text-transform:uppercase;min-width:4.5em;display:inline-block}"
    "nav a{margin-right:.8em}"
)


def _parameters(operation: dict[str, Any]) -> str:
    items = [
        f"<li><code>{html.escape(p['name'])}</code> ({html.escape(p.get('in', ''))}"
        f"{', required' if p.get('required') else ''}){': ' + html.escape(p['description']) if p.get('description') else ''}</li>"
        for p in operation.get("parameters", [])
    ]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    reference = body.get("$ref", "")
    if reference:
        items.append(f"<li>JSON body: <code>{html.escape(reference.rsplit('/', 1)[-1])}</code></li>")
    return f"<ul>{''.join(items)}</ul>" if items else ""


def render_docs(openapi: dict[str, Any]) -> str:
    """The OpenAPI document as HTML: one section per tag, one entry per operation."""
    sections: dict[str, list[str]] = {}
    for path, operations in openapi.get("paths", {}).items():
        for method in _METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            entry = (
                f'<div class="op"><div><span class="method">{method}</span> <code>{html.escape(path)}</code>'
                f" — {html.escape(operation.get('summary', ''))}</div>"
                f"<p>{html.escape(operation.get('description', ''))}</p>{_parameters(operation)}</div>"
            )
            for tag in operation.get("tags") or ["Other"]:
                sections.setdefault(tag, []).append(entry)
    info = openapi.get("info", {})
    title = html.escape(f"{info.get('title', 'API')} {info.get('version', '')}".strip())
    nav = "".join(f'<a href="#{html.escape(tag)}">{html.escape(tag)}</a>' for tag in sorted(sections))
    body = "".join(
        f'<section id="{html.escape(tag)}"><h2>{html.escape(tag)}</h2>{"".join(entries)}</section>'
        for tag, entries in sorted(sections.items())
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{title}</h1><p>{html.escape(info.get('description', ''))} "
        f"The machine-readable document is <a href='openapi.json'>openapi.json</a>.</p>"
        f"<nav>{nav}</nav>{body}</body></html>"
    )


def install_docs_page(app: FastAPI, path: str) -> None:
    """Serve the page at `path` (rendered once: the routes do not change while the app runs)."""
    page: list[str] = []

    async def docs(request: Request) -> HTMLResponse:
        if not page:
            page.append(render_docs(app.openapi()))
        return HTMLResponse(page[0])

    app.add_route(path, docs, methods=["GET"], include_in_schema=False)
