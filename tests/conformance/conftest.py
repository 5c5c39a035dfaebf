"""The conformance suite's fixtures: the reference server beside the local stack, once per session,
and the per-domain tables the tests record (REPORT), printed in pytest's terminal summary by
tests/conftest.py (which also gathers them from an xdist worker)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conformance.reference_server import ReferenceServer
from tests.conformance.routes import OpenApi, Route, served_routes
from tests.stack_process import StackProcess


@pytest.fixture(scope="package")
def reference(request: pytest.FixtureRequest) -> Iterator[ReferenceServer]:
    server = ReferenceServer().launch()
    try:
        request.getfixturevalue("stack")  # both start at once
        yield server.wait_healthy()
    finally:
        server.stop()


@pytest.fixture(scope="package")
def reference_url(reference: ReferenceServer) -> str:
    return reference.api_url


@pytest.fixture(scope="package")
def reference_openapi(reference_url: str) -> OpenApi:
    return OpenApi(httpx.get(f"{reference_url}/openapi.json", timeout=60).raise_for_status().json())


@pytest.fixture(scope="session")
def our_openapi(stack: StackProcess) -> OpenApi:
    return OpenApi(httpx.get(f"{stack.api_url}/openapi.json", timeout=60).raise_for_status().json())


@pytest.fixture(scope="package")
def served(reference_openapi: OpenApi, our_openapi: OpenApi) -> set[Route]:
    """Reference routes Serverflow serves (declared by its app and routed by template.yaml)."""
    return served_routes(reference_openapi, our_openapi)
