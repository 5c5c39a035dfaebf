"""The prefect 3.9.1 CLI's first list commands exit 0 against the stack (which runs the locked env).

Each of them posts explicit nulls for the filter fields it was not given (`sort: null`, `offset: null`):
with the locked FastAPI these answered 422 until null meant default (issue #9).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.prefect_env import prefect_env

SUFFIX = uuid.uuid4().hex[:6]


def prefect(api_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="prefect-home-") as home:
        return subprocess.run(
            [str(Path(sys.executable).parent / "prefect"), *args],
            env={**prefect_env(api_url, home), "COLUMNS": "250"},
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture(scope="module")
def seeded(api_url: str) -> dict[str, str]:
    with httpx.Client(base_url=api_url, timeout=30) as http:
        flow = http.post("/flows/", json={"name": f"cli-flow-{SUFFIX}"}).json()
        run = http.post("/flow_runs/", json={"flow_id": flow["id"], "name": f"cli-run-{SUFFIX}"}).json()
        deployment = http.post("/deployments/", json={"name": f"cli-deployment-{SUFFIX}", "flow_id": flow["id"]}).json()
        queue = http.post("/work_queues/", json={"name": f"cli-queue-{SUFFIX}"}).json()
    assert all("id" in created for created in (flow, run, deployment, queue)), (flow, run, deployment, queue)
    return {
        "flow": flow["name"],
        "run": run["name"],
        "deployment": f"cli-flow-{SUFFIX}/cli-deployment-{SUFFIX}",
        "queue": queue["name"],
    }


# flow-run ls shows 15 runs: scoped to this module's flow, as the session's stack holds many more.
@pytest.mark.parametrize(
    ("command", "shows"),
    [
        (("flow-run", "ls", "--flow-name", f"cli-flow-{SUFFIX}"), "run"),
        (("deployment", "ls"), "deployment"),
        (("work-queue", "ls"), "queue"),
    ],
    ids=["flow-run ls", "deployment ls", "work-queue ls"],
)
def test_prefect_list_command_exits_0_and_lists_what_exists(
    api_url: str, seeded: dict[str, str], command: tuple[str, ...], shows: str
) -> None:
    result = prefect(api_url, *command)
    assert result.returncode == 0, result.stdout + result.stderr
    assert seeded[shows] in result.stdout, result.stdout
