"""Shared fixtures: one local stack (emulated AWS + every domain on one port) per session."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.stack_process import StackProcess


@pytest.fixture(scope="session")
def stack() -> Iterator[StackProcess]:
    process = StackProcess().start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def api_url(stack: StackProcess) -> str:
    return stack.api_url


@pytest.fixture(scope="session")
def aws_endpoint_url(stack: StackProcess) -> str:
    return stack.aws_endpoint_url


@pytest.fixture
def client(api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=30) as http:
        yield http
