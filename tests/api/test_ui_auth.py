"""With an API key: the UI's files and /ui-settings stay public, the API takes the UI's Basic auth (own stack)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from infra import ui_assets
from tests.stack_process import StackProcess

API_KEY = "ui-secret-key"


@pytest.fixture(scope="module")
def keyed_stack() -> Iterator[StackProcess]:
    ui_assets.ensure_ui()
    process = StackProcess(env={"SERVERFLOW_API_KEY": API_KEY}).start(timeout=240)
    try:
        yield process
    finally:
        process.stop()


def test_ui_and_its_settings_are_public_and_ask_for_basic_auth(keyed_stack: StackProcess) -> None:
    origin = keyed_stack.api_url.removesuffix("/api")
    settings = httpx.get(f"{origin}/ui-settings")
    assert settings.status_code == 200 and settings.json()["auth"] == "BASIC"
    page = httpx.get(f"{origin}/v2/runs", headers={"accept": "text/html"})
    assert page.status_code == 200 and '<div id="root">' in page.text


def test_api_accepts_the_key_as_bearer_or_as_the_uis_basic_auth(keyed_stack: StackProcess) -> None:
    url = f"{keyed_stack.api_url}/flows/filter"
    basic = base64.b64encode(API_KEY.encode()).decode()
    assert httpx.post(url, json={}).status_code == 401
    assert httpx.post(url, json={}, headers={"authorization": f"Bearer {API_KEY}"}).status_code == 200
    assert httpx.post(url, json={}, headers={"authorization": f"Basic {basic}"}).status_code == 200
    wrong = base64.b64encode(b"not-the-key").decode()
    assert httpx.post(url, json={}, headers={"authorization": f"Basic {wrong}"}).status_code == 401
    assert httpx.post(url, json={}, headers={"authorization": "Basic %%%"}).status_code == 401
