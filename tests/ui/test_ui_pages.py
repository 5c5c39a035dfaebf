"""Every page of Prefect's own UI (v2, the default, and v1) in headless Chromium against Serverflow.

Each page is loaded from the local stack (same origin as the API) after the real prefect client
made the data; a page passes when it shows that data (a run name, a log line, a variable value)
and no API call failed (no response >= 400, no failed request). A screenshot per page goes to
tests/ui/screenshots/ (gitignored; CI keeps it as an artifact).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

Seed = dict[str, Any]
# Generous: the UI lazy-loads each page's code, and CI's 2 cores are shared.
TEXT_TIMEOUT_MS = 30_000
POLL_MS = 500
# After the data shows, the page's remaining API calls must answer too: wait until no API request has
# been in flight for QUIET_S (the UI fires a page's queries together on mount), at most SETTLE_S.
QUIET_S = 0.3
SETTLE_S = 1.5


@dataclass(frozen=True)
class UiPage:
    name: str
    path: Callable[[Seed], str]
    # Texts the page must show: the data the client made.
    expect: Callable[[Seed], list[str | re.Pattern[str]]]
    marks: tuple[Any, ...] = field(default=())
    # The page's time window ends at the current minute, floored (v2 events, the dashboards' charts).
    after_seed_minute: bool = False


PAGES = [
    UiPage("runs", lambda s: "/runs", lambda s: [s["flow_run_name"]]),
    UiPage("flow-run", lambda s: f"/runs/flow-run/{s['flow_run_id']}", lambda s: [s["flow_run_name"], s["log_line"]]),
    UiPage("task-run", lambda s: f"/runs/task-run/{s['task_run_id']}", lambda s: [s["task_run_name"]]),
    UiPage("flows", lambda s: "/flows", lambda s: ["serverflow-ui-parent"]),
    UiPage("flow", lambda s: f"/flows/flow/{s['flow_id']}", lambda s: [s["flow_run_name"]]),
    UiPage("deployments", lambda s: "/deployments", lambda s: [s["deployment_name"]]),
    UiPage(
        "deployment",
        lambda s: f"/deployments/deployment/{s['deployment_id']}",
        lambda s: [s["deployment_name"], re.compile("Every 1 hour|Every hour|Hourly")],
    ),
    UiPage("work-pools", lambda s: "/work-pools", lambda s: [s["work_pool_name"]]),
    UiPage("work-pool", lambda s: f"/work-pools/work-pool/{s['work_pool_name']}", lambda s: [s["work_pool_name"]]),
    UiPage(
        "work-queue",
        lambda s: f"/work-pools/work-pool/{s['work_pool_name']}/queue/{s['work_queue_name']}",
        lambda s: [s["work_queue_name"]],
    ),
    UiPage("blocks", lambda s: "/blocks", lambda s: [s["block_name"]]),
    UiPage("block", lambda s: f"/blocks/block/{s['block_document_id']}", lambda s: [s["block_name"]]),
    UiPage("variables", lambda s: "/variables", lambda s: [s["variable"]["name"], s["variable"]["value"]]),
    UiPage("automations", lambda s: "/automations", lambda s: ["serverflow-ui-automation"]),
    UiPage("concurrency", lambda s: "/concurrency-limits", lambda s: ["serverflow-ui-limit"]),
    UiPage("artifacts", lambda s: "/artifacts", lambda s: [s["artifact_key"]]),
    UiPage("settings", lambda s: "/settings", lambda s: ["3.9.1"]),
    # Last: pages whose window ends at the current minute (floored) wait until the seeded data is before it
    # (see _after_seed_minute); by now that minute has usually passed.
    UiPage("events", lambda s: "/events", lambda s: [s["flow_run_name"]], after_seed_minute=True),
    # "Task Runs": the task-run chart card, drawn once its history answered.
    UiPage("dashboard", lambda s: "/dashboard", lambda s: [s["work_pool_name"], "Task Runs"], after_seed_minute=True),
]
UIS = {"v2": "/v2", "v1": ""}


class ApiWatch:
    """Every API response >= 400 and every failed API request of one page, and the API requests in flight."""

    def __init__(self, page: Any) -> None:
        self.problems: list[str] = []
        self.responses: list[tuple[int, str]] = []
        self.in_flight: set[Any] = set()
        self.last_change = time.monotonic()
        self._page = page
        page.on("request", self._on_request)
        page.on("requestfinished", self._on_done)
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_failed)

    @staticmethod
    def _is_api(url: str) -> bool:
        return "/api/" in url or url.endswith("/ui-settings")

    def _on_response(self, response: Any) -> None:
        if self._is_api(response.url):
            self.responses.append((response.status, response.url))
            if response.status >= 400:
                self.problems.append(f"{response.status} {response.request.method} {response.url}")

    def _on_request(self, request: Any) -> None:
        if self._is_api(request.url):
            self.in_flight.add(request)
            self.last_change = time.monotonic()

    def _on_done(self, request: Any) -> None:
        self.in_flight.discard(request)
        self.last_change = time.monotonic()

    def _on_failed(self, request: Any) -> None:
        self._on_done(request)
        if self._is_api(request.url):
            self.problems.append(f"failed {request.method} {request.url}: {request.failure}")

    def quiet_for(self) -> float:
        """Seconds since the last API request started or ended, 0 while one is in flight."""
        return 0.0 if self.in_flight else time.monotonic() - self.last_change

    def stop(self) -> list[str]:
        for event, handler in (
            ("request", self._on_request),
            ("requestfinished", self._on_done),
            ("response", self._on_response),
            ("requestfailed", self._on_failed),
        ):
            self._page.remove_listener(event, handler)
        return sorted(set(self.problems))


@pytest.fixture(scope="module")
def browser_context(browser: Any) -> Iterator[Any]:
    """One context for the module: the UI's bundles are fetched once and then served from its cache."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def open_page(
    browser_context: Any, ui_base_url: str, screenshots: Path
) -> Iterator[Callable[[str, str], tuple[Any, ApiWatch]]]:
    pages: list[Any] = []

    def _open(url_path: str, shot: str) -> tuple[Any, ApiWatch]:
        page = browser_context.new_page()
        pages.append(page)
        watch = ApiWatch(page)
        page.goto(ui_base_url + url_path)
        page._serverflow_shot = screenshots / f"{shot}.png"
        return page, watch

    yield _open
    for page in pages:
        page.close()


def _fail_on_api_problems(watch: ApiWatch, what: str) -> None:
    problems = sorted(set(watch.problems))
    assert not problems, f"{what}: failed API calls:\n" + "\n".join(problems)


def _shows(page: Any, watch: ApiWatch, texts: list[str | re.Pattern[str]], what: str) -> None:
    """Wait until the page shows each text; fail as soon as an API call fails (no point waiting then)."""
    deadline = time.monotonic() + TEXT_TIMEOUT_MS / 1000
    for text in texts:
        locator = page.get_by_text(text).first
        while True:
            _fail_on_api_problems(watch, what)
            try:
                locator.wait_for(state="visible", timeout=POLL_MS)
                break
            except PlaywrightTimeout:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{what}: {text!r} not shown after {TEXT_TIMEOUT_MS} ms") from None


def _settle(page: Any, watch: ApiWatch) -> None:
    """Let the page's remaining API calls answer. Not the browser's "networkidle": the UI keeps polling and
    holds websockets, so that rarely comes; a page that never goes quiet is not a failure (the watch is)."""
    deadline = time.monotonic() + SETTLE_S
    while watch.quiet_for() < QUIET_S and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # playwright delivers the request events while it waits


def _after_seed_minute(seeded: Seed) -> None:
    """The page's window ends at the current minute (the UI floors it): wait until the data is before it."""
    ready = (seeded["seeded_at"] // 60 + 1) * 60 + 1
    time.sleep(max(0.0, min(61.0, ready - time.time())))


# The flow-run page's tabs, each with what the client made there.
FLOW_RUN_TABS = {
    "Task Runs": lambda s: [s["task_run_name"]],
    "Subflow Runs": lambda s: ["serverflow-ui-child-run"],
    "Artifacts": lambda s: [s["artifact_key"]],
    "Parameters": lambda s: ['"a"'],
    "Logs": lambda s: [s["log_line"]],
}


@pytest.mark.parametrize("ui", list(UIS))
def test_flow_run_page_graph_and_tabs(
    ui: str, seeded: Seed, open_page: Callable[[str, str], tuple[Any, ApiWatch]]
) -> None:
    page, watch = open_page(f"{UIS[ui]}/runs/flow-run/{seeded['flow_run_id']}", f"{ui}-flow-run-tabs")
    what = f"{ui} flow-run tabs"
    _shows(page, watch, [seeded["flow_run_name"]], what)
    # The graph is a canvas: what it draws comes from graph-v2, which must have answered.
    page.wait_for_function(
        "() => performance.getEntriesByType('resource').some(e => e.name.includes('/graph-v2'))",
        timeout=TEXT_TIMEOUT_MS,
    )
    graph_calls = [status for status, url in watch.responses if "/graph-v2" in url]
    assert graph_calls and all(status == 200 for status in graph_calls), f"graph-v2 answered {graph_calls}"
    for tab, expect in FLOW_RUN_TABS.items():
        # v2 tabs are role=tab buttons, v1's are the items of a role=tablist.
        page.get_by_role("tab", name=tab).or_(page.locator("[role=tablist] li", has_text=tab)).first.click()
        _shows(page, watch, expect(seeded), f"{what} {tab}")
        page.screenshot(path=str(page._serverflow_shot.with_name(f"{ui}-flow-run-{tab.lower().replace(' ', '-')}.png")))
    _settle(page, watch)
    watch.stop()
    _fail_on_api_problems(watch, what)


def test_root_opens_the_default_ui_and_the_v1_cookie_keeps_v1(
    browser_context: Any, ui_base_url: str, seeded: Seed
) -> None:
    # The module's context (its cache holds the bundles already); its cookies are cleared after.
    page = browser_context.new_page()
    try:
        page.goto(ui_base_url + "/")
        page.wait_for_url("**/v2/**", timeout=TEXT_TIMEOUT_MS)
        browser_context.add_cookies([{"name": "prefect_ui_version", "value": "v1", "url": ui_base_url}])
        page.goto(ui_base_url + "/")
        page.wait_for_load_state("domcontentloaded")
        assert "/v2" not in page.url
    finally:
        page.close()
        browser_context.clear_cookies()


@pytest.mark.parametrize("ui", list(UIS))
@pytest.mark.parametrize("ui_page", [pytest.param(p, id=p.name, marks=p.marks) for p in PAGES])
def test_page_shows_its_data_without_failed_api_calls(
    ui: str, ui_page: UiPage, seeded: Seed, open_page: Callable[[str, str], tuple[Any, ApiWatch]]
) -> None:
    what = f"{ui} {ui_page.name}"
    if ui_page.after_seed_minute:
        _after_seed_minute(seeded)
    page, watch = open_page(UIS[ui] + ui_page.path(seeded), f"{ui}-{ui_page.name}")
    try:
        _shows(page, watch, ui_page.expect(seeded), what)
        _settle(page, watch)
    finally:
        page.screenshot(path=str(page._serverflow_shot), full_page=False)
    watch.stop()
    assert watch.responses, "the page made no API call"
    _fail_on_api_problems(watch, what)


def test_the_real_client_made_every_object_the_pages_show(seeded: Seed) -> None:
    assert not seeded["missing"], seeded["missing"]
