"""Request guards applied to every domain: auth, API version, body size, JSON-only bodies, JSON depth.

Pure ASGI middleware (not BaseHTTPMiddleware) so it also sees websocket scopes
and does not buffer streaming responses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from shared.config import get_settings
from shared.credentials import header_carries_key
from shared.schemas.json_limits import JsonTooDeep, check_json_depth

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


async def _respond(
    send: Send, status: int, payload: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
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
            text: str = value.decode("latin-1")
            return text
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
        # Only the API is guarded: the UI's static files and /ui-settings are public, as the reference.
        if (
            settings.api_key
            and path.startswith("/api")
            and path not in OPEN_PATHS
            and not self._authorized(scope, settings.api_key)
        ):
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
                    {
                        "detail": "The request specified API version {} but this server requires version {} or higher.".format(
                            version, ".".join(map(str, MIN_API_VERSION))
                        )
                    },
                )
                return
        length = _header(scope, b"content-length")
        limit = settings.max_batch_body_bytes if path in BATCH_PATHS else settings.max_body_bytes
        if length is not None and length.isdigit() and int(length) > limit:
            await _respond(send, 413, {"detail": f"Request body of {length} bytes exceeds the limit of {limit} bytes."})
            return
        receive = self._limited(receive, limit, send)
        if scope.get("method") in BODY_METHODS:
            # Read the whole (bounded) body here, where an oversized chunked body can still be
            # answered 413: raised later, inside FastAPI's body parsing, it escaped as a 500.
            try:
                body = await _read_body(receive)
            except BodyTooLarge as exc:
                await _respond(send, 413, {"detail": str(exc)})
                return
            rejection = _reject_body(_header(scope, b"content-type"), body)
            if rejection is not None:
                await _respond(send, *rejection)
                return
            receive = _replay(body)
        await self.app(scope, receive, send)

    @staticmethod
    def _authorized(scope: Scope, api_key: str) -> bool:
        carried = header_carries_key(_header(scope, b"authorization"), api_key)
        if carried is None:
            # Websocket clients send the key in their first "auth" message instead.
            return bool(scope["type"] == "websocket")
        return carried

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


BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _is_json_media_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _reject_body(content_type: str | None, body: bytes) -> tuple[int, dict[str, Any]] | None:
    """The status and payload refusing a request body, or None when it may reach a router.

    Every API body is JSON. Refusing any other declared type (or an undeclared one carrying a
    body) keeps browsers' "simple" cross-origin requests (text/plain, forms: no preflight) from
    reaching a mutating route such as bulk_delete: CSRF-safe without tokens.
    """
    if content_type is not None and not _is_json_media_type(content_type):
        return 415, {"detail": f"Unsupported media type {content_type!r}: request bodies must be application/json."}
    if content_type is None and body.strip():
        return 415, {"detail": "A request body needs the header Content-Type: application/json."}
    if _has_non_standard_constant(body):
        return 422, NON_STANDARD_JSON_ERROR
    try:
        check_json_depth(body)
    except JsonTooDeep as exc:
        return 422, {
            "exception_message": "Invalid request received.",
            "exception_detail": [{"loc": ["body"], "msg": str(exc), "type": "json_too_deep"}],
            "request_body": None,
        }
    return None


# Python's json module reads NaN/Infinity (not JSON); pydantic would then store them as null.
NON_STANDARD_JSON_ERROR = {
    "exception_message": "Invalid request received.",
    "exception_detail": [
        {"loc": ["body"], "msg": "NaN, Infinity and -Infinity are not valid JSON values", "type": "json_invalid"}
    ],
    "request_body": None,
}


class _NonStandardConstant(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NonStandardConstant(name)


def _has_non_standard_constant(body: bytes) -> bool:
    """True only for otherwise well-formed JSON using NaN/Infinity; other errors are FastAPI's to report."""
    if not body or (b"NaN" not in body and b"Infinity" not in body):
        return False
    try:
        json.loads(body, parse_constant=_reject_constant)
    except _NonStandardConstant:
        return True
    except ValueError:
        return False
    return False


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message.get("type") != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body exceeds the limit of {limit} bytes.")
        self.limit = limit
