"""Shared fixtures: one local stack (emulated AWS + every domain on one port) per session."""

from __future__ import annotations

import os
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conformance.report import REPORT as CONFORMANCE_REPORT
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


# --- parallel runs (pytest-xdist, `dev test`) -------------------------------------------------------

TESTS_DIR = Path(__file__).parent
# Directories whose modules share a server started once (the reference server for conformance): one
# worker runs all of them. Every other module is a group of its own (module fixtures start stacks).
SHARED_SERVER_DIRS = {"conformance"}
# The longest groups start first, so neither worker is left with a long tail.
FIRST = ("ui", "conformance", "e2e", "infra")


def _group(item: pytest.Item) -> str:
    relative = Path(str(item.path)).relative_to(TESTS_DIR)
    return relative.parts[0] if relative.parts[0] in SHARED_SERVER_DIRS else relative.as_posix()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        top = _group(item).split("/")[0]
        return FIRST.index(top) if top in FIRST else len(FIRST)

    items.sort(key=rank)  # stable: the order within a group stays the collection order
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_group(item)))


# --- a test run always ends ------------------------------------------------------------------------

STRAY_THREAD_GRACE_SECONDS = 10.0
_exit_status: list[int] = []  # set where stray threads would keep this process from exiting
_stray_reports: list[str] = []  # what to print and fail the run for (this process's or its workers')
_worker_summaries: list[tuple[str, list[str]]] = []  # the conformance tables an xdist worker measured


# Storage's process-wide scatter-gather pool (shared/storage/store.py), used by maintenance code run in
# process: its idle workers are stopped by concurrent.futures' own exit hook, so they never block exit.
EXIT_JOINED_POOLS = ("storage-scatter",)


def _stray_threads() -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t is not threading.main_thread()
        and not t.daemon
        and t.is_alive()
        and not t.name.startswith(EXIT_JOINED_POOLS)
    ]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A non-daemon thread a test left running (say, writers looping against a stack after a failed
    assert) keeps the interpreter from exiting after the summary: CI then waits out its whole time
    limit. Give such threads a moment, then name them with their stacks and fail the run instead."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["summary_sections"] = CONFORMANCE_REPORT.sections()
    for thread in _stray_threads():
        thread.join(timeout=STRAY_THREAD_GRACE_SECONDS / max(len(_stray_threads()), 1))
    stray = _stray_threads()
    if stray:
        frames = sys._current_frames()
        lines = [f"{len(stray)} non-daemon thread(s) still running after the last test:"]
        for thread in stray:
            lines.append(f"--- {thread.name}")
            frame = frames.get(thread.ident) if thread.ident is not None else None
            if frame is not None:
                lines.extend(line.rstrip() for line in traceback.format_stack(frame))
        report = "\n".join(lines)
        if workeroutput is not None:  # an xdist worker: the controller prints it and fails the run
            workeroutput["stray_threads"] = report
        else:
            _stray_reports.append(report)
        _exit_status.append(int(pytest.ExitCode.TESTS_FAILED))
    if _stray_reports:
        print("\n" + "\n".join(_stray_reports), file=sys.stderr, flush=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """xdist controller: a worker that reported stray threads fails the run (see pytest_sessionfinish)."""
    output = getattr(node, "workeroutput", {})
    _worker_summaries.extend(output.get("summary_sections", []))
    if output.get("stray_threads"):
        _stray_reports.append(output["stray_threads"])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The conformance suite's per-domain tables (tests/conformance/report.py), with or without -s."""
    for title, lines in [*CONFORMANCE_REPORT.sections(), *_worker_summaries]:
        terminalreporter.write_sep("-", title)
        for line in lines:
            terminalreporter.write_line(line)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _exit_status:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[0])  # the stray threads would block a normal interpreter exit forever
