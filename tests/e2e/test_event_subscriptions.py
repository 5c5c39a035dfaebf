"""/events/out and /logs/out with the real prefect client (subprocesses) on the local stack:
`prefect event stream` shows a flow run's events live; filters narrow; backfill works;
a closed subscriber leaves no subscription behind; a gone connection is dropped."""

from __future__ import annotations

import datetime
import json
import queue
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.aws_env import stack_aws_env
from tests.e2e.prefect_env import SCRIPTS, prefect_env
from tests.stack_process import StackProcess

PREFECT = str(Path(sys.executable).parent / "prefect")


class Lines:
    """A subprocess whose stdout lines are read on a thread (bounded waits, no blocking reads)."""

    def __init__(self, args: list[str], api_url: str) -> None:
        self.home = tempfile.TemporaryDirectory(prefix="prefect-home-")
        self.process = subprocess.Popen(
            args, env=prefect_env(api_url, self.home.name), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.drainer = threading.Thread(target=self._drain, daemon=True)
        self.drainer.start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip())

    def wait_for(self, predicate: Any, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if predicate(line):
                return line
        raise AssertionError("Not seen in time; output:\n" + "\n".join(self.seen[-60:]))

    def finish(self, timeout: float = 30) -> int:
        """Wait for the process to exit on its own and collect the rest of its output."""
        code = self.process.wait(timeout=timeout)
        self.drainer.join(timeout=10)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.home.cleanup()


def _json_lines(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines if line.startswith("{")]


def _event(name: str, resource_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "occurred": datetime.datetime.now(datetime.UTC).isoformat(),
        "event": name,
        "resource": {"prefect.resource.id": resource_id},
        **extra,
    }


@pytest.fixture(scope="module")
def own_stack() -> Iterator[StackProcess]:
    """A stack of this module's own: live delivery follows the table's stream, and by this point of a full
    run the session stack's stream readers can still be working through the earlier tests' writes."""
    process = StackProcess().start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def api_url(own_stack: StackProcess) -> str:
    return own_stack.api_url


@pytest.fixture(scope="module")
def aws_endpoint_url(own_stack: StackProcess) -> str:
    return own_stack.aws_endpoint_url


@pytest.fixture
def client(api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=30) as http:
        yield http


@pytest.fixture
def started() -> Iterator[list[Lines]]:
    procs: list[Lines] = []
    yield procs
    for proc in procs:
        proc.close()


def test_prefect_event_stream_shows_a_flow_runs_events_live(api_url: str, started: list[Lines]) -> None:
    stream = Lines([PREFECT, "event", "stream", "--format", "text"], api_url)
    started.append(stream)
    stream.wait_for(lambda line: "Subscribing" in line)
    time.sleep(1)  # let the filter message land (anything earlier would come by backfill anyway)
    with tempfile.TemporaryDirectory(prefix="prefect-home-") as home:
        flow = subprocess.run(
            [sys.executable, str(SCRIPTS / "one_flow.py")],
            env=prefect_env(api_url, home),
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert flow.returncode == 0, flow.stdout[-3000:] + flow.stderr[-3000:]
    completed = stream.wait_for(lambda line: " prefect.flow-run.Completed " in line)
    run_resource = completed.split()[-1]
    # The same run's earlier transitions came through too, in order.
    names = [line.split()[1] for line in stream.seen if line.endswith(run_resource)]
    assert "prefect.flow-run.Running" in names
    assert names.index("prefect.flow-run.Running") < names.index("prefect.flow-run.Completed")


def test_a_filtered_subscriber_gets_only_matching_events_and_a_backfill(
    api_url: str, client: httpx.Client, started: list[Lines]
) -> None:
    tag = uuid.uuid4().hex[:8]
    # Recorded before anyone subscribes: reaches the subscriber by backfill only.
    early = _event(f"test.{tag}.match.early", f"test.{tag}.a")
    assert client.post("/events", json=[early]).status_code == 204
    sub = Lines([sys.executable, str(SCRIPTS / "subscribe.py"), "events", "3", f"test.{tag}.match"], api_url)
    started.append(sub)
    sub.wait_for(lambda line: '"ready"' in line)
    live = [
        _event(f"test.{tag}.other", f"test.{tag}.b"),
        _event(f"test.{tag}.match.one", f"test.{tag}.c"),
        _event(f"test.{tag}.match.two", f"test.{tag}.d"),
    ]
    assert client.post("/events", json=live).status_code == 204
    sub.wait_for(lambda line: f"test.{tag}.match.two" in line)
    assert sub.finish() == 0
    got = [line["event"] for line in _json_lines(sub.seen) if "event" in line]
    assert got == [f"test.{tag}.match.early", f"test.{tag}.match.one", f"test.{tag}.match.two"]


def test_logs_out_streams_a_flow_runs_logs_live(api_url: str, client: httpx.Client, started: list[Lines]) -> None:
    run_id = str(uuid.uuid4())
    other_run = str(uuid.uuid4())
    # Two lines of the run per POST: stored as one group item, streamed as two logs.
    sub = Lines([sys.executable, str(SCRIPTS / "subscribe.py"), "logs", "2", run_id], api_url)
    started.append(sub)
    sub.wait_for(lambda line: '"ready"' in line)
    deadline = time.monotonic() + 60
    # Live-only (no backfill, as the reference): repeat until the subscription is in place, with new lines
    # each time (a POST of the same lines is a retry: it rewrites the stored ones, nothing new to stream).
    while sub.process.poll() is None and time.monotonic() < deadline:
        now = datetime.datetime.now(datetime.UTC).isoformat()
        logs = [
            {"name": "t", "level": 20, "message": "not mine", "timestamp": now, "flow_run_id": other_run},
            {"name": "t", "level": 20, "message": "mine", "timestamp": now, "flow_run_id": run_id},
            {"name": "t", "level": 20, "message": "mine", "timestamp": now, "flow_run_id": run_id},
        ]
        assert client.post("/logs/", json=logs).status_code == 201
        time.sleep(0.5)
    assert sub.finish() == 0
    got = [line for line in _json_lines(sub.seen) if "log" in line]
    assert len(got) == 2 and all(line == {"log": "mine", "flow_run_id": run_id} for line in got)


def _subscriptions(aws_endpoint_url: str) -> list[str]:
    with stack_aws_env(aws_endpoint_url):
        from shared.storage import subscriptions

        return [s.connection_id for s in subscriptions.of_channel("events")]


def test_a_closed_subscriber_leaves_no_subscription(
    api_url: str, aws_endpoint_url: str, client: httpx.Client, started: list[Lines]
) -> None:
    before = set(_subscriptions(aws_endpoint_url))
    sub = Lines([sys.executable, str(SCRIPTS / "subscribe.py"), "events", "1", "test.closing"], api_url)
    started.append(sub)
    sub.wait_for(lambda line: '"ready"' in line)
    deadline = time.monotonic() + 30
    while not set(_subscriptions(aws_endpoint_url)) - before and time.monotonic() < deadline:
        time.sleep(0.2)
    mine = set(_subscriptions(aws_endpoint_url)) - before
    assert len(mine) == 1
    sub.close()
    deadline = time.monotonic() + 30
    while mine & set(_subscriptions(aws_endpoint_url)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not mine & set(_subscriptions(aws_endpoint_url))


def test_fan_out_drops_a_gone_connection_and_still_serves_the_others(aws_endpoint_url: str) -> None:
    with stack_aws_env(aws_endpoint_url):
        from shared.events import subscriptions as service
        from shared.schemas.events import Event
        from shared.storage import subscriptions as store
        from shared.storage.stream_records import NewItems

        tag = uuid.uuid4().hex[:8]
        message = json.dumps({"type": "filter", "filter": {"event": {"prefix": [f"test.{tag}"]}}})
        gone = service.subscribe(f"gone-{tag}", "events", message)
        alive = service.subscribe(f"alive-{tag}", "events", message)
        posted: list[tuple[str, dict[str, Any]]] = []

        def post(connection_id: str, frame: dict[str, Any]) -> None:
            if connection_id == gone.connection_id:
                raise service.ConnectionGone(connection_id)
            posted.append((connection_id, frame))

        event = Event.model_validate(_event(f"test.{tag}.x", "r")).receive()
        try:
            service.fan_out(NewItems(events=[event]), post)
            ids = [s.connection_id for s in store.of_channel("events")]
            assert gone.connection_id not in ids
            assert [(c, f["event"]["id"]) for c, f in posted if c == alive.connection_id] == [
                (alive.connection_id, str(event.id))
            ]
        finally:
            store.delete(alive.connection_id)
