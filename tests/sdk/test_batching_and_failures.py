"""Batching (a 500-task .map flow makes few requests) and failing fast on an unreachable API or a bad key."""

from __future__ import annotations

import http.server
import re
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import serverflow
from serverflow import flow, task, unmapped
from serverflow.client import requests_sent
from serverflow.exceptions import APIUnreachable, Unauthorized

pytestmark = pytest.mark.timeout(120)

N_TASKS = 500


@task
def scale(x: int, factor: int) -> int:
    return x * factor


@flow
def wide_flow(n: int) -> int:
    futures = scale.map(range(n), unmapped(3))
    return sum(futures.result())


def test_500_task_map_batches_requests(sdk_env: str, reader: Any) -> None:
    serverflow.flush()  # nothing queued by earlier tests counts against this flow
    before = requests_sent()
    state = wide_flow(N_TASKS, return_state=True)
    # The flow returned without waiting for its events (as prefect's engine); the public flush waits for them.
    assert serverflow.flush(timeout=120), "queued events were not all sent"
    requests = requests_sent() - before  # includes every event and log batch
    assert state.result() == 3 * sum(range(N_TASKS))
    state_changes = 3 * N_TASKS + 2  # Pending/Running/Completed per task, Running/Completed for the flow
    print(f"\n500-task .map flow: {requests} HTTP requests for {state_changes} state changes")
    # create flow + flow run + 2 set_state + ~8 event batches (200 events each) + log batches
    assert requests <= 25, requests
    flow_run_id = state.state_details["flow_run_id"]
    reader.wait_until(
        lambda: reader.count_task_runs(flow_run_id, state={"type": {"any_": ["COMPLETED"]}}) == N_TASKS, timeout=90
    )


N_BEFORE_RAISE = 60


@flow
def tasks_then_raise(n: int) -> None:
    for i in range(n):
        scale(i, 2)
    raise RuntimeError("the flow body failed after its tasks")


def test_task_runs_are_recorded_when_the_flow_returns_even_if_it_raised(sdk_env: str, reader: Any) -> None:
    # Events ship in the background while the flow runs and after it ended (also when the body raised); the
    # server records the task runs from them asynchronously, as the reference does, so they are polled for.
    with pytest.raises(RuntimeError, match="failed after its tasks"):
        tasks_then_raise(N_BEFORE_RAISE)
    (flow_run,) = reader.http.post(
        "/flow_runs/filter",
        json={"flows": {"name": {"any_": ["tasks-then-raise"]}}, "sort": "START_TIME_DESC", "limit": 1},
    ).json()
    assert flow_run["state_type"] == "FAILED"

    def all_completed() -> list[dict[str, Any]] | None:
        found = reader.task_runs(flow_run["id"])
        done = len(found) == N_BEFORE_RAISE and all(run["state_type"] == "COMPLETED" for run in found)
        return found if done else None

    runs = reader.wait_until(all_completed)
    # One sender, in order: each run's history is its transitions as they happened.
    history = reader.wait_until(lambda: len(states := reader.task_run_states(runs[0]["id"])) == 3 and states)
    assert [s["type"] for s in history] == ["PENDING", "RUNNING", "COMPLETED"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@flow
def trivial_flow() -> int:
    return 1


# Fails fast: no retry loop (the SDK's retries would outlast this bound); pytest-timeout enforces it.
@pytest.mark.timeout(30, func_only=True)
def test_unreachable_api_fails_fast(sdk_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{_free_port()}/api"  # nothing listens here
    monkeypatch.setenv("SERVERFLOW_API_URL", url)
    with pytest.raises(APIUnreachable, match=re.escape("Cannot reach the Serverflow API at http://127.0.0.1")):
        trivial_flow()


class _Reject401(http.server.BaseHTTPRequestHandler):
    def _reject(self) -> None:
        body = b'{"detail": "Invalid API key"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_DELETE = _reject

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def rejecting_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Reject401)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()


# Fails fast: no retry loop (the SDK's retries would outlast this bound); pytest-timeout enforces it.
@pytest.mark.timeout(30, func_only=True)
def test_wrong_api_key_fails_fast_with_readable_error(
    sdk_env: str, rejecting_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVERFLOW_API_URL", rejecting_server)
    monkeypatch.setenv("SERVERFLOW_API_KEY", "wrong-key")
    with pytest.raises(Unauthorized, match=r"rejected the request .*check SERVERFLOW_API_KEY"):
        trivial_flow()


@pytest.fixture(scope="module")
def keyed_stack_url(sdk_api_url: str) -> Iterator[str]:
    """A second local stack that requires an API key (the session stack runs without auth)."""
    import os

    if os.environ.get("SERVERFLOW_SDK_TEST_API_URL"):
        pytest.skip("needs the local stack (SERVERFLOW_SDK_TEST_API_URL points elsewhere)")
    from tests.stack_process import StackProcess

    stack = StackProcess(env={"SERVERFLOW_API_KEY": "the-right-key"}).start()
    try:
        yield stack.api_url
    finally:
        stack.stop()


# Fails fast: no retry loop (the SDK's retries would outlast this bound); pytest-timeout enforces it.
@pytest.mark.timeout(30, func_only=True)
def test_wrong_api_key_against_the_stack(sdk_env: str, keyed_stack_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVERFLOW_API_URL", keyed_stack_url)
    monkeypatch.setenv("SERVERFLOW_API_KEY", "a-wrong-key")
    with pytest.raises(Unauthorized, match="401"):
        trivial_flow()
    monkeypatch.setenv("SERVERFLOW_API_KEY", "the-right-key")
    assert trivial_flow() == 1
    serverflow.flush()  # the stack stops after this module; send its last logs now
