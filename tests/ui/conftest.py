"""Fixtures of the browser tests: Debian's chromium, a stack serving the UI, data made by the real client.

Chromium comes from Debian (`apt-get install chromium`, installed here where missing), never a
browser download; playwright only drives it. The stack is this module's own (the UI must be
extracted before it starts), seeded once by tests/ui/scripts/seed_ui_data.py.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import ui_assets
from tests.e2e.prefect_env import prefect_env
from tests.stack_process import StackProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCRIPTS = Path(__file__).resolve().parent / "scripts"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


# Our test processes install one at a time (a second finds chromium there); apt's own lock may also be held by
# another apt (a CI image's own apt run at boot, say): that is waited for, not taken as apt being unable to run.
INSTALL_LOCK = Path("/tmp/serverflow-chromium-install.lock")
APT_LOCK_WAIT_SECONDS = 600.0


def _apt(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run an apt-get command, again while another apt holds its lock (up to APT_LOCK_WAIT_SECONDS)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    deadline = time.monotonic() + APT_LOCK_WAIT_SECONDS
    while True:
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode == 0 or "Could not get lock" not in result.stderr or time.monotonic() > deadline:
            return result
        time.sleep(2.0)


def _install_chromium() -> None:
    """Debian's chromium through apt (root, as on these machines and CI); skip only if apt cannot run."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("chromium is missing and apt-get cannot install it here (needs Debian and root)")
    with INSTALL_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if CHROMIUM.exists():
            return  # another test process installed it meanwhile
        for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
            result = _apt(command)
            if result.returncode != 0:
                pytest.skip(f"apt-get could not install chromium: {' '.join(command)}: {result.stderr[-2000:]}")


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        _install_chromium()
    assert CHROMIUM.exists(), "apt-get install chromium did not provide /usr/bin/chromium"
    return CHROMIUM


@pytest.fixture(scope="package")
def ui_stack() -> Iterator[StackProcess]:
    ui_assets.ensure_ui()
    # A loaded CI box can take over a minute to start the stack (emulator, provisioning, stream readers).
    process = StackProcess().start(timeout=240)
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="package")
def ui_base_url(ui_stack: StackProcess) -> str:
    return ui_stack.api_url.removesuffix("/api")


@pytest.fixture(scope="package")
def seeded(ui_stack: StackProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the real prefect client made (ids, names, the log line), and the steps the server refused."""
    home = tmp_path_factory.mktemp("prefect-home")
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "seed_ui_data.py")],
        env=prefect_env(ui_stack.api_url, str(home)),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    summary = json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])
    summary["seeded_at"] = time.time()
    return summary


@pytest.fixture(scope="package")
def browser(chromium_path: Path) -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is part of the test extra")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
