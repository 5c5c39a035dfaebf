"""What the sync and async clients share: request description, headers, retry policy, error mapping."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from .._version import __version__
from ..exceptions import APIError, APIUnreachable, MissingAPIURL, ObjectNotFound, Unauthorized
from ..settings import Settings

T = TypeVar("T")

# Prefect-compatible servers check this header (reference: 0.8.4 is what prefect 3.9.1 sends).
API_VERSION = "0.8.4"
# Throttling and gateway hiccups: safe to retry, the request did not reach (or was refused by) the handler.
RETRY_STATUSES = frozenset({408, 429, 502, 503})
# A refused connection is retried only briefly: an unreachable API must fail fast, not hang.
CONNECT_RETRIES = 2
CONNECT_BACKOFF = 0.25
MAX_BACKOFF = 10.0

# Every HTTP request the SDK sends, process-wide (tests assert batching with it).
_request_counter = itertools.count()
_requests_sent = 0


def count_request() -> None:
    global _requests_sent
    _requests_sent = next(_request_counter) + 1


def requests_sent() -> int:
    """Number of HTTP requests this process has sent to the API (retries included)."""
    return _requests_sent


@dataclass
class Call(Generic[T]):
    """One API call: what to send and how to read the answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    json: Any = None
    params: dict[str, Any] | None = field(default=None)


def resolve_url(settings: Settings, api_url: str | None) -> str:
    url = (api_url or settings.api_url or "").rstrip("/")
    if not url:
        raise MissingAPIURL(
            "No API URL configured: set SERVERFLOW_API_URL (or PREFECT_API_URL), e.g. http://127.0.0.1:4200/api."
        )
    return url


def headers(api_key: str | None) -> dict[str, str]:
    result = {
        "X-PREFECT-API-VERSION": API_VERSION,
        "User-Agent": f"serverflow/{__version__} (API {API_VERSION})",
    }
    if api_key:
        result["Authorization"] = f"Bearer {api_key}"
    return result


def timeout(settings: Settings, total: float | None) -> httpx.Timeout:
    return httpx.Timeout(total or settings.timeout, connect=min(settings.connect_timeout, total or settings.timeout))


def retry_delay(attempt: int, response: httpx.Response | None) -> float:
    """Retry-After when the server gives one, else exponential backoff with jitter."""
    if response is not None:
        after = response.headers.get("Retry-After")
        if after:
            try:
                return min(float(after), MAX_BACKOFF * 3)
            except ValueError:
                pass
    base = min(MAX_BACKOFF, 0.5 * (2.0**attempt))
    return base * (0.5 + random.random() / 2)


def should_retry_status(response: httpx.Response, attempt: int, max_retries: int) -> bool:
    return response.status_code in RETRY_STATUSES and attempt < max_retries


def unreachable(url: str, exc: Exception) -> APIUnreachable:
    reason = type(exc).__name__
    detail = str(exc) or reason
    if isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout)):
        return APIUnreachable(
            f"The Serverflow API at {url} did not answer in time ({reason}). It is reachable but slow or overloaded; "
            "SERVERFLOW_API_TIMEOUT sets the timeout."
        )
    return APIUnreachable(
        f"Cannot reach the Serverflow API at {url} ({reason}: {detail}). "
        "Is the server running, and is SERVERFLOW_API_URL / PREFECT_API_URL right?"
    )


def check(response: httpx.Response, url: str) -> None:
    """Turn an error status into a readable SDK exception."""
    status = response.status_code
    if status < 400:
        return
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:500]
    detail = body.get("detail", body) if isinstance(body, dict) else body
    where = f"{response.request.method} {response.request.url.path}"
    if status in (401, 403):
        raise Unauthorized(
            f"The API at {url} rejected the request ({status} on {where}): check SERVERFLOW_API_KEY "
            f"(sent as 'Authorization: Bearer'). Server said: {detail}",
            status,
            body,
        )
    if status == 404:
        raise ObjectNotFound(f"Not found: {where} ({detail})", status, body)
    raise APIError(f"API error {status} on {where}: {detail}", status, body, _retry_after(response))


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


def json_body(model: Any) -> Callable[[httpx.Response], Any]:
    """Parser validating the JSON body into ``model`` (a pydantic model or list of them)."""

    def parse(response: httpx.Response) -> Any:
        return model.model_validate(response.json())

    return parse


def json_list(model: Any) -> Callable[[httpx.Response], list[Any]]:
    def parse(response: httpx.Response) -> list[Any]:
        return [model.model_validate(item) for item in response.json()]

    return parse


def no_body(response: httpx.Response) -> None:
    return None


def raw_json(response: httpx.Response) -> Any:
    return response.json() if response.content else None
