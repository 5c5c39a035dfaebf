"""The HTTP client: retries on throttling, typed models, sync and async, auth header."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from serverflow.client import AsyncClient, SyncClient
from serverflow.client.models import FlowRun, OrchestrationResult
from serverflow.exceptions import APIError, ObjectNotFound

pytestmark = pytest.mark.timeout(60)


class _Scripted(http.server.BaseHTTPRequestHandler):
    """Answers each request with the next scripted (status, headers, body); records what it received."""

    script: ClassVar[list[tuple[int, dict[str, str], Any]]] = []
    seen: ClassVar[list[dict[str, Any]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).seen.append(
            {
                "path": self.path,
                "auth": self.headers.get("Authorization"),
                "version": self.headers.get("X-PREFECT-API-VERSION"),
            }
        )
        status, headers, body = type(self).script.pop(0) if type(self).script else (200, {}, "3.9.1")
        payload = json.dumps(body).encode()
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[tuple[str, type[_Scripted]]]:
    handler = type("Handler", (_Scripted,), {"script": [], "seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api", handler
    server.shutdown()


def test_retries_throttling_then_succeeds(scripted: tuple[str, type[_Scripted]]) -> None:
    url, handler = scripted
    handler.script = [
        (429, {"Retry-After": "0.1"}, {"detail": "slow down"}),
        (503, {"Retry-After": "0"}, {}),
        (502, {"Retry-After": "0"}, {}),
        (200, {}, "3.9.1"),
    ]
    with SyncClient(url, "secret") as client:
        assert client.read_version() == "3.9.1"
    assert len(handler.seen) == 4
    assert all(s["auth"] == "Bearer secret" and s["version"] == "0.8.4" for s in handler.seen)


@pytest.mark.timeout(30, func_only=True)  # Retry-After: 0 is honoured (the default backoff would take longer)
def test_gives_up_after_max_retries_with_readable_error(scripted: tuple[str, type[_Scripted]]) -> None:
    url, handler = scripted
    handler.script = [(503, {"Retry-After": "0"}, {"detail": "busy"})] * 3
    with SyncClient(url, max_retries=2) as client, pytest.raises(APIError, match=r"API error 503 .*busy"):
        client.read_version()
    assert len(handler.seen) == 3


def test_not_found_and_typed_models(scripted: tuple[str, type[_Scripted]]) -> None:
    url, handler = scripted
    run_id = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    handler.script = [
        (404, {}, {"detail": "Flow run not found"}),
        (
            200,
            {},
            {
                "id": run_id,
                "name": "r",
                "flow_id": run_id,
                "run_count": 2,
                "state_type": "RUNNING",
                "unknown_future_field": 1,
            },
        ),
        (
            200,
            {},
            {
                "status": "WAIT",
                "details": {"type": "wait_details", "delay_seconds": 3, "reason": "later"},
                "state": None,
            },
        ),
    ]
    with SyncClient(url) as client:
        with pytest.raises(ObjectNotFound, match="Flow run not found"):
            client.read_flow_run(run_id)
        run = client.read_flow_run(run_id)
        assert isinstance(run, FlowRun) and run.run_count == 2
        result = client.set_flow_run_state(run_id, {"type": "RUNNING"})
        assert isinstance(result, OrchestrationResult) and result.delay_seconds == 3 and result.reason == "later"


def test_async_client(scripted: tuple[str, type[_Scripted]]) -> None:
    url, handler = scripted
    handler.script = [(503, {"Retry-After": "0"}, {}), (200, {}, "3.9.1")]

    async def main() -> str:
        async with AsyncClient(url) as client:
            return await client.read_version()

    assert asyncio.run(main()) == "3.9.1"
    assert len(handler.seen) == 2


def test_against_the_api(sdk_env: str) -> None:
    async def main() -> tuple[str, str]:
        async with AsyncClient() as client:
            flow = await client.create_flow("sdk-client-test")
            return (await client.read_flow(flow.id)).name, flow.name

    read, created = asyncio.run(main())
    assert read == created == "sdk-client-test"
    with SyncClient() as client:
        assert client.read_flow_runs(limit=1) is not None
