"""Request guards applied to every domain: auth, body size, API version.

Pure ASGI middleware (not BaseHTTPMiddleware) so it also sees websocket scopes
and does not buffer streaming responses.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from shared.config import get_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
MIN_API_VERSION = (0, 8, 0)
# Endpoints that take a batch (one stored item per element) get the larger body limit.
BATCH_PATHS = {"/api/logs/", "/api/logs", "/api/events", "/api/events/"}
OPEN_PATHS = {"/api/health", "/api/version", "/api/admin/version", "/api/csrf-token", "/api/ready", "/api/hello"}


async def _respond(send: Send, status: int, payload: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            + (headers or []),
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class GuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        path: str = scope.get("path", "")
        if settings.api_key and path not in OPEN_PATHS and not self._authorized(scope, settings.api_key):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await _respond(send, 401, {"exception_message": "Unauthorized"})
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        version = _header(scope, b"x-prefect-api-version")
        if version is not None:
            match = _VERSION.match(version.strip())
            if not match:
                await _respond(send, 400, {"detail": f"Invalid X-PREFECT-API-VERSION header format: {version!r}"})
                return
            if tuple(int(p) for p in match.groups()) < MIN_API_VERSION:
                await _respond(
                    send,
                    400,
                    {"detail": "The request specified API version {} but this server requires version {} or higher.".format(
                        version, ".".join(map(str, MIN_API_VERSION)))},
                )
                return
        length = _header(scope, b"content-length")
        limit = settings.max_batch_body_bytes if path in BATCH_PATHS else settings.max_body_bytes
        if length is not None and length.isdigit() and int(length) > limit:
            await _respond(send, 413, {"detail": f"Request body of {length} bytes exceeds the limit of {limit} bytes."})
            return
        await self.app(scope, self._limited(receive, limit, send), send)

    @staticmethod
    def _authorized(scope: Scope, api_key: str) -> bool:
        header = _header(scope, b"authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            # Websocket clients send the key in their first "auth" message instead.
            return scope["type"] == "websocket"
        return hmac.compare_digest(token.strip(), api_key)

    @staticmethod
    def _limited(receive: Receive, limit: int, send: Send) -> Receive:
        """Stop reading a chunked body once it passes the limit."""
        seen = 0

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        return wrapped


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body exceeds the limit of {limit} bytes.")
        self.limit = limit
