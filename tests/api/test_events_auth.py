"""/events/in with SERVERFLOW_API_KEY set: the token in the auth message is checked (own stack)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.stack_process import StackProcess

API_KEY = "events-auth-test-key"


@pytest.fixture(scope="module")
def keyed_api_url() -> Iterator[str]:
    process = StackProcess(env={"SERVERFLOW_API_KEY": API_KEY}).start()
    try:
        yield process.api_url
    finally:
        process.stop()


def _ws(api_url: str) -> str:
    return api_url.replace("http://", "ws://", 1) + "/events/in"


async def _auth(api_url: str, token: Any) -> tuple[dict[str, Any], int | None]:
    async with connect(_ws(api_url), subprotocols=["prefect"]) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        reply = json.loads(await ws.recv())
        if reply["type"] == "auth_success":
            await asyncio.wait_for(await ws.ping(), timeout=10)
            return reply, None
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        return reply, ws.close_code


def test_valid_token_is_accepted(keyed_api_url: str) -> None:
    assert asyncio.run(_auth(keyed_api_url, API_KEY)) == ({"type": "auth_success"}, None)


@pytest.mark.parametrize(
    ("token", "reason"),
    [("wrong", "Invalid token"), (None, "Auth required but no token provided")],
)
def test_bad_token_gets_auth_failure_and_1008(keyed_api_url: str, token: str | None, reason: str) -> None:
    reply, code = asyncio.run(_auth(keyed_api_url, token))
    assert reply == {"type": "auth_failure", "reason": reason}
    assert code == 1008


def test_no_subprotocol_is_refused_when_auth_is_configured(keyed_api_url: str) -> None:
    async def scenario() -> None:
        async with connect(_ws(keyed_api_url)) as ws:
            await ws.recv()

    with pytest.raises((ConnectionClosed, InvalidStatus)):
        asyncio.run(scenario())
