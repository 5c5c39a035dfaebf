"""Prefect-shaped error responses.

The reference answers validation errors with `exception_message`/`exception_detail`,
missing objects with 404 `exception_message`, and HTTPExceptions with `detail`.
Clients (and users) rely on those shapes, so every failure path lands here.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from shared.api.middleware import BodyTooLarge
from shared.storage.errors import (
    BACKEND_ERRORS,
    ConcurrentUpdate,
    InvalidObject,
    ItemTooLarge,
    KeyTooLarge,
    ObjectAlreadyExists,
    ObjectNotFound,
    ObjectProtected,
    RunNotFound,
    is_unavailable,
)

logger = logging.getLogger("serverflow.api")


class DatabaseNotReady(Exception):
    """A health or readiness probe found the database unreachable: 503 with Retry-After, and the probe's
    own body (`false` for /health, a message for /ready), as the reference answers."""

    def __init__(self, body: Any) -> None:
        super().__init__("the database cannot be reached")
        self.body = body


def _safe_body(body: Any) -> Any:
    if isinstance(body, bytes | bytearray):
        return body.decode("utf-8", errors="replace")  # "replace" cannot fail
    return body


def _json_safe(value: Any) -> Any:
    """NaN/Infinity (Python's json reads them) echoed back as text: JSONResponse refuses them (a 500)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = jsonable_encoder(
        exc.errors(), custom_encoder={Exception: str, bytes: lambda b: b.decode("utf-8", "replace")}
    )
    return JSONResponse(
        status_code=422,
        content=_json_safe(
            {
                "exception_message": "Invalid request received.",
                "exception_detail": errors,
                "request_body": jsonable_encoder(
                    _safe_body(exc.body), custom_encoder={bytes: lambda b: b.decode("utf-8", "replace")}
                ),
            }
        ),
    )


async def _model_validation_error(request: Request, exc: ValidationError) -> JSONResponse:
    # Raised by schema validation inside a handler (e.g. a merged update that is invalid).
    return JSONResponse(
        status_code=422,
        content={
            "exception_message": "Invalid request received.",
            "exception_detail": _json_safe(
                jsonable_encoder(exc.errors(include_url=False), custom_encoder={Exception: str})
            ),
            "request_body": None,
        },
    )


async def _not_found(request: Request, exc: ObjectNotFound) -> JSONResponse:
    return JSONResponse(status_code=status.HTTP_404_NOT_FOUND, content={"detail": str(exc) or "Not found"})


async def _run_not_found(request: Request, exc: RunNotFound) -> JSONResponse:
    return JSONResponse(status_code=status.HTTP_404_NOT_FOUND, content={"exception_message": str(exc)})


async def _database_not_ready(request: Request, exc: DatabaseNotReady) -> JSONResponse:
    return JSONResponse(status_code=status.HTTP_503_SERVICE_UNAVAILABLE, content=exc.body, headers={"Retry-After": "5"})


async def _body_too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
    return JSONResponse(status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, content={"detail": str(exc)})


async def _already_exists(request: Request, exc: ObjectAlreadyExists) -> JSONResponse:
    return JSONResponse(status_code=status.HTTP_409_CONFLICT, content={"detail": str(exc) or "Object already exists"})


async def _protected(request: Request, exc: ObjectProtected) -> JSONResponse:
    return JSONResponse(status_code=status.HTTP_403_FORBIDDEN, content={"detail": str(exc)})


async def _invalid_object(request: Request, exc: InvalidObject) -> JSONResponse:
    return JSONResponse(status_code=status.HTTP_400_BAD_REQUEST, content={"detail": str(exc)})


async def _concurrent_update(request: Request, exc: ConcurrentUpdate) -> JSONResponse:
    # The write lost a race; the client may retry (the prefect client retries 409? no: 503 with Retry-After).
    return JSONResponse(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "1"},
        content={"exception_message": "Concurrent update, please retry."},
    )


async def _item_too_large(request: Request, exc: ItemTooLarge) -> JSONResponse:
    return JSONResponse(status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, content={"detail": str(exc)})


async def _key_too_large(request: Request, exc: KeyTooLarge) -> JSONResponse:
    return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_ENTITY, content={"detail": str(exc)})


def unavailable_response() -> JSONResponse:
    return JSONResponse(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
        content={"exception_message": "Service Unavailable: the database cannot be reached, please retry."},
    )


async def _backend_error(request: Request, exc: Exception) -> JSONResponse:
    if is_unavailable(exc):
        # The store is down or throttling: a retryable 503 (the prefect client retries it), not a 500.
        logger.warning("Storage unavailable on %s %s: %r", request.method, request.url.path, exc)
        return unavailable_response()
    return await _internal_error(request, exc)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    logger.error("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(status_code=500, content={"exception_message": "Internal Server Error"})


# Most specific first (Starlette picks a handler by walking the exception's MRO). Handlers are typed Any
# here: each takes the exception class it is registered for, which Starlette's signature (any Exception)
# cannot express.
_HANDLERS: tuple[tuple[type[Exception], Any], ...] = (
    (RequestValidationError, _validation_error),
    (ValidationError, _model_validation_error),
    (DatabaseNotReady, _database_not_ready),
    (BodyTooLarge, _body_too_large),
    (RunNotFound, _run_not_found),
    (ObjectNotFound, _not_found),
    (ObjectAlreadyExists, _already_exists),
    (ObjectProtected, _protected),
    (InvalidObject, _invalid_object),
    (ConcurrentUpdate, _concurrent_update),
    (ItemTooLarge, _item_too_large),
    (KeyTooLarge, _key_too_large),
    *((backend_error, _backend_error) for backend_error in BACKEND_ERRORS),
    (Exception, _internal_error),
)


def install_error_handlers(app: FastAPI) -> None:
    """Every failure path answers Prefect-shaped: this is the one place typed errors become responses."""
    for exc_type, handler in _HANDLERS:
        app.add_exception_handler(exc_type, handler)
