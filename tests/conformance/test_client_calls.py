"""Every public method of the real PrefectClient and SyncPrefectClient, called on the reference and on
Serverflow: same outcome class (success, or the same HTTP status), and the main JSON objects answered
carry the same keys. A call needing a route Serverflow does not serve yet is skipped, naming the route."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from prefect.client.orchestration import PrefectClient, SyncPrefectClient
from prefect.events.clients import NullEventsClient
from prefect.events.worker import EventsWorker
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.settings import (
    PREFECT_API_KEY,
    PREFECT_API_URL,
    PREFECT_HOME,
    PREFECT_SERVER_ALLOW_EPHEMERAL_MODE,
    temporary_settings,
)

from tests.conformance.client_calls import SPECS, Ctx, Skip
from tests.conformance.report import REPORT
from tests.conformance.routes import OpenApi, Route
from tests.conformance.seed import seed_server

SECTION = "Client calls: same outcome and keys as the reference (async + sync client)"
IGNORED_PATHS = ("/api/csrf-token", "/api/admin/version")
CALL_TIMEOUT = 120


def public_methods(cls: type) -> list[str]:
    return sorted(name for name, member in inspect.getmembers(cls) if not name.startswith("_") and callable(member))


CASES = [("async", name) for name in public_methods(PrefectClient)] + [
    ("sync", name) for name in public_methods(SyncPrefectClient)
]


@dataclass
class Exchange:
    """What one client call did: its requests (method, path, status, JSON body) and its outcome."""

    requests: list[tuple[str, str, int, Any]] = field(default_factory=list)
    outcome: str = ""
    value: Any = None


def _outcome(exc: BaseException | None) -> str:
    if exc is None:
        return "success"
    cause: Any = exc
    if isinstance(exc, ObjectNotFound | ObjectAlreadyExists):
        cause = exc.http_exc
    if isinstance(cause, httpx.HTTPStatusError):
        return f"HTTP {cause.response.status_code}"
    return f"error {type(exc).__name__}: {str(exc)[:200]}"


def _body(response: httpx.Response) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return None


class ClientRunner:
    """One real client (async or sync) on one server for the whole module: calls run one at a time,
    each recording the requests it made. An async client lives on its own event loop thread."""

    def __init__(self, kind: str, api_url: str) -> None:
        self.kind = kind
        self.current = Exchange()
        settings = {"event_hooks": {"response": [self._on_async_response if kind == "async" else self._on_response]}}
        if kind == "sync":
            self.client: Any = SyncPrefectClient(api=api_url, httpx_settings=settings)
            self.client.__enter__()
            return
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client = self._on_loop(self._make_async_client(api_url, settings))

    async def _make_async_client(self, api_url: str, settings: dict[str, Any]) -> PrefectClient:
        client = PrefectClient(api=api_url, httpx_settings=settings)
        await client.__aenter__()
        return client

    def _on_loop(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=CALL_TIMEOUT)

    def _record(self, response: httpx.Response) -> None:
        path = response.request.url.path
        # A 503 is retried by the client (the reference's SQLite answers it while locked): not an answer.
        if not path.endswith(IGNORED_PATHS) and response.status_code != 503:
            self.current.requests.append((response.request.method, path, response.status_code, _body(response)))

    def _on_response(self, response: httpx.Response) -> None:
        response.read()
        self._record(response)

    async def _on_async_response(self, response: httpx.Response) -> None:
        await response.aread()
        self._record(response)

    def call(self, name: str, ctx: Ctx) -> Exchange:
        self.current = exchange = Exchange()
        try:
            if self.kind == "sync":
                exchange.value = SPECS[name](self.client, ctx)
            else:
                exchange.value = self._on_loop(self._await(SPECS[name], ctx))
            exchange.outcome = _outcome(None)
        except Skip:
            raise
        except Exception as exc:  # noqa: BLE001 - the outcome class is what is compared
            exchange.outcome = _outcome(exc)
        return exchange

    async def _await(self, spec: Any, ctx: Ctx) -> Any:
        result = spec(self.client, ctx)
        return await result if inspect.isawaitable(result) else result

    def close(self) -> None:
        if self.kind == "sync":
            self.client.__exit__(None, None, None)
            return
        self._on_loop(self.client.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def _keys(body: Any) -> set[str] | None:
    if isinstance(body, list):
        body = body[0] if body else None
    return set(body) if isinstance(body, dict) else None


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # Client-side events (e.g. create_artifact emits one) go to the process's PREFECT_API_URL, not to
    # the client's server; with no URL prefect would start an ephemeral server to take them. Neither
    # server is compared on them, so they go to prefect's null events client, and ephemeral mode is
    # off, so nothing in the test process starts a server of its own.
    updates = {
        PREFECT_HOME: str(tmp_path_factory.mktemp("prefect-client-home")),
        PREFECT_API_URL: None,
        PREFECT_API_KEY: "conformance-suite-no-events",
        PREFECT_SERVER_ALLOW_EPHEMERAL_MODE: False,
    }
    EventsWorker.set_client_override(NullEventsClient)
    try:
        with temporary_settings(updates=updates):
            yield
    finally:
        EventsWorker.set_client_override(None)


@pytest.fixture(scope="module")
def contexts(
    prefect_home: None, reference_url: str, api_url: str, reference_openapi: OpenApi, served: set[Route]
) -> Iterator[tuple[Ctx, Ctx]]:

    def our_route_served(method: str, path: str) -> bool:
        op = reference_openapi.match(method, path)
        return op is None or op.route in served

    reference_ctx = Ctx(reference_url, seed_server(reference_url, "ref"), lambda method, path: True)
    our_ctx = Ctx(api_url, seed_server(api_url, "ours"), our_route_served)
    yield reference_ctx, our_ctx
    reference_ctx.close()
    our_ctx.close()


@pytest.fixture(scope="module")
def runners(prefect_home: None, reference_url: str, api_url: str) -> Iterator[dict[tuple[str, str], ClientRunner]]:
    """(kind, "reference" | "serverflow") -> a client kept for the module."""
    made = {
        (kind, side): ClientRunner(kind, url)
        for kind in ("async", "sync")
        for side, url in (("reference", reference_url), ("serverflow", api_url))
    }
    yield made
    for runner in made.values():
        runner.close()


@pytest.mark.parametrize(("kind", "name"), CASES, ids=[f"{kind}-{name}" for kind, name in CASES])
def test_client_call_matches_the_reference(
    kind: str,
    name: str,
    contexts: tuple[Ctx, Ctx],
    runners: dict[tuple[str, str], ClientRunner],
    reference_openapi: OpenApi,
    served: set[Route],
) -> None:
    assert name in SPECS, (
        f"No call spec for {'SyncPrefectClient' if kind == 'sync' else 'PrefectClient'}.{name}: add one to tests/conformance/client_calls.py"
    )
    reference_ctx, our_ctx = contexts
    try:
        # Both servers at once (they are separate processes); which routes the call needs is read
        # off the reference's requests, so a call on a route Serverflow does not serve is skipped,
        # naming the route, never compared nor silently passed.
        with ThreadPoolExecutor(max_workers=2) as pool:
            reference_future = pool.submit(runners[kind, "reference"].call, name, reference_ctx)
            our_future = pool.submit(runners[kind, "serverflow"].call, name, our_ctx)
            reference = reference_future.result()
            for method, path, _, _ in reference.requests:
                op = reference_openapi.match(method, path)
                if op is not None and op.route not in served:
                    raise Skip(f"route not served: {op.method} {op.path}")
            ours = our_future.result()
    except Skip as skip:
        REPORT.count(SECTION, kind, matched=False, skipped=True)
        pytest.skip(str(skip))
    problems = []
    if reference.outcome != ours.outcome:
        problems.append(f"outcome: reference {reference.outcome}, serverflow {ours.outcome}")
    if reference.requests and ours.requests:
        ref_keys, our_keys = _keys(reference.requests[-1][3]), _keys(ours.requests[-1][3])
        if ref_keys is not None and our_keys is not None and ref_keys != our_keys:
            problems.append(f"keys: missing {sorted(ref_keys - our_keys)}, extra {sorted(our_keys - ref_keys)}")

    def statuses(exchange: Exchange) -> list[tuple[str, int]]:
        return [(method, status) for method, _, status, _ in exchange.requests]

    if statuses(reference) != statuses(ours) and not problems:
        problems.append(
            f"requests: reference {[r[:3] for r in reference.requests]}, serverflow {[r[:3] for r in ours.requests]}"
        )
    REPORT.count(SECTION, kind, matched=not problems)
    assert not problems, (
        f"{kind} {name}:\n" + "\n".join(problems) + f"\nserverflow requests: {[r[:3] for r in ours.requests]}"
    )
