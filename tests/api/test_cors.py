"""CORS answers as the reference's (prefect 3.9.1 `prefect server start`), default and configured.

The expected headers were recorded from the reference answering the same requests, with its defaults
and with PREFECT_SERVER_CORS_ALLOWED_ORIGINS="https://app.example.com,https://other.example.com",
..._METHODS="GET,POST", ..._HEADERS="content-type,x-prefect-api-version". Serverflow's settings are
SERVERFLOW_CORS_ALLOWED_ORIGINS / _METHODS / _HEADERS (template parameters CorsAllowed*).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.stack_process import StackProcess

ORIGIN = "https://app.example.com"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type,x-prefect-api-version",
}
PREFLIGHT_VARY = (
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network"
)
CORS_HEADERS = (
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
    "vary",
)


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {name: response.headers[name] for name in CORS_HEADERS if name in response.headers}


def test_default_preflight_allows_any_origin_method_and_requested_headers(client: httpx.Client) -> None:
    response = client.options("/flows/filter", headers=PREFLIGHT)
    assert (response.status_code, response.text) == (200, "OK")
    assert cors_headers(response) == {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, QUERY",
        "access-control-allow-headers": "content-type,x-prefect-api-version",
        "access-control-max-age": "600",
        "vary": PREFLIGHT_VARY,
    }


def test_default_responses_carry_the_wildcard_origin_also_on_errors(client: httpx.Client) -> None:
    health = client.get("/health", headers={"Origin": ORIGIN})
    missing = client.get("/flows/00000000-0000-0000-0000-000000000000", headers={"Origin": ORIGIN})
    assert (health.status_code, missing.status_code) == (200, 404)
    for response in (health, missing):
        assert cors_headers(response) == {"access-control-allow-origin": "*", "vary": "Origin"}


def test_a_request_without_origin_gets_only_vary(client: httpx.Client) -> None:
    # The answer varies with Origin, so caches must key on it even when none was sent.
    assert cors_headers(client.get("/health")) == {"vary": "Origin"}


@pytest.fixture(scope="module")
def configured() -> Iterator[httpx.Client]:
    stack = StackProcess(
        extra_args=["--no-schedules"],
        env={
            "SERVERFLOW_CORS_ALLOWED_ORIGINS": "https://app.example.com,https://other.example.com",
            "SERVERFLOW_CORS_ALLOWED_METHODS": "GET,POST",
            "SERVERFLOW_CORS_ALLOWED_HEADERS": "content-type,x-prefect-api-version",
            # Preflights carry no credentials: CORS is answered before the auth guard, as on the reference.
            "SERVERFLOW_API_KEY": "cors-key",
        },
    ).start()
    try:
        with httpx.Client(base_url=stack.api_url, timeout=30) as http:
            yield http
    finally:
        stack.stop()


CONFIGURED_PREFLIGHT_HEADERS = {
    "access-control-allow-methods": "GET, POST",
    "access-control-allow-headers": "Accept, Accept-Language, Content-Language, Content-Type, content-type, x-prefect-api-version",
    "access-control-max-age": "600",
    "vary": PREFLIGHT_VARY,
}


def test_configured_preflight_from_an_allowed_origin(configured: httpx.Client) -> None:
    response = configured.options("/flows/filter", headers=PREFLIGHT)
    assert (response.status_code, response.text) == (200, "OK")
    assert cors_headers(response) == {**CONFIGURED_PREFLIGHT_HEADERS, "access-control-allow-origin": ORIGIN}


def test_configured_preflight_from_another_origin_is_refused(configured: httpx.Client) -> None:
    response = configured.options(
        "/flows/filter", headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"}
    )
    assert (response.status_code, response.text) == (400, "Disallowed CORS origin")
    assert cors_headers(response) == CONFIGURED_PREFLIGHT_HEADERS


def test_configured_preflight_for_a_method_and_header_not_allowed_is_refused(configured: httpx.Client) -> None:
    response = configured.options(
        "/flows/filter",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert (response.status_code, response.text) == (400, "Disallowed CORS method, headers")
    assert cors_headers(response) == {**CONFIGURED_PREFLIGHT_HEADERS, "access-control-allow-origin": ORIGIN}


def test_configured_responses_name_an_allowed_origin_and_omit_others(configured: httpx.Client) -> None:
    auth = {"Authorization": "Bearer cors-key"}
    allowed = configured.get(
        "/flows/00000000-0000-0000-0000-000000000000", headers={**auth, "Origin": "https://other.example.com"}
    )
    refused = configured.get("/health", headers={"Origin": "https://evil.example.com"})
    assert (allowed.status_code, refused.status_code) == (404, 200)
    assert cors_headers(allowed) == {"access-control-allow-origin": "https://other.example.com", "vary": "Origin"}
    assert cors_headers(refused) == {"vary": "Origin"}


def test_configured_settings_are_reported_as_the_reference_reports_them(configured: httpx.Client) -> None:
    settings = configured.get("/admin/settings", headers={"Authorization": "Bearer cors-key"}).json()
    api = settings["server"]["api"]
    assert {key: api[key] for key in ("cors_allowed_origins", "cors_allowed_methods", "cors_allowed_headers")} == {
        "cors_allowed_origins": "https://app.example.com,https://other.example.com",
        "cors_allowed_methods": "GET,POST",
        "cors_allowed_headers": "content-type,x-prefect-api-version",
    }
