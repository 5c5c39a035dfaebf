"""Deployments made by the SDK: ``flow.deploy`` / ``serverflow deploy`` with a cron schedule, whose runs the
scheduler creates and ``serverflow worker`` executes over SQS with no AWS variables set; ``flow.serve``
running its own scheduled runs; entrypoints confined to their source root."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from serverflow.cli import main
from serverflow.entrypoints import UnsafeEntrypoint, confine

from infra.local.schedules import ScheduledFunction, scheduled_event
from tests.aws_env import stack_aws_env

from .conftest import wait_until

pytestmark = pytest.mark.timeout(240)

REPO = Path(__file__).resolve().parents[2]

FLOW_SOURCE = """
from serverflow import flow


@flow(name="{flow_name}", persist_result=True, result_serializer="json")
def nightly(who: str = "world") -> str:
    return "hello " + who
"""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def run_scheduler(aws_endpoint_url: str) -> None:
    """One tick of the scheduler function, through its Lambda handler, against the stack's emulator."""
    with stack_aws_env(aws_endpoint_url):
        handler = importlib.import_module("functions.scheduler.handler").handler
        handler(scheduled_event(ScheduledFunction("scheduler", "functions.scheduler.handler.handler", 60.0)), None)


def flow_file(directory: Path) -> str:
    flow_name = unique("sdk-deployed")
    (directory / "flows").mkdir(parents=True, exist_ok=True)
    (directory / "flows" / "nightly.py").write_text(textwrap.dedent(FLOW_SOURCE.format(flow_name=flow_name)))
    return flow_name


def client_env(api_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    """A user's shell: the API URL and nothing about AWS (the worker learns the queue from the API)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SERVERFLOW_", "AWS_"))}
    env.update(
        SERVERFLOW_API_URL=api_url,
        SERVERFLOW_LOCAL_STORAGE_PATH=str(tmp / "results"),
        SERVERFLOW_FLUSH_INTERVAL="0.5",
        SERVERFLOW_WORKER_QUERY_SECONDS="30",  # the API poll is a slow safety net: SQS must bring the run
        SERVERFLOW_WORKER_PREFETCH_SECONDS="75",  # a cron run is at most a minute away
        HOME=str(tmp),  # no ~/.aws credentials either
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def runs_of(api: httpx.Client, deployment_id: str) -> list[dict[str, Any]]:
    response = api.post(
        "/flow_runs/filter", json={"deployments": {"id": {"any_": [deployment_id]}}, "sort": "EXPECTED_START_TIME_ASC"}
    )
    response.raise_for_status()
    return list(response.json())


def test_entrypoints_cannot_escape_their_source_root(tmp_path: Path) -> None:
    root = tmp_path / "src"
    root.mkdir()
    (tmp_path / "outside.py").write_text("x = 1\n")
    (root / "inside.py").write_text("x = 1\n")
    assert confine("inside.py", root) == (root / "inside.py").resolve()
    for bad in ("../outside.py", str(tmp_path / "outside.py"), "sub/../../outside.py"):
        with pytest.raises(UnsafeEntrypoint):
            confine(bad, root)
    (root / "link.py").symlink_to(tmp_path / "outside.py")
    with pytest.raises(UnsafeEntrypoint):
        confine("link.py", root)


def test_cli_deploy_refuses_an_entrypoint_outside_the_root(
    sdk_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "src").mkdir()
    flow_file(tmp_path)
    with pytest.raises(UnsafeEntrypoint):
        main(["deploy", "../flows/nightly.py:nightly", "--name", "x", "--source-root", str(tmp_path / "src")])


def test_deploy_with_cron_runs_on_the_sqs_worker_without_aws_settings(
    sdk_env: str, api: httpx.Client, aws_endpoint_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow_name = flow_file(tmp_path)
    pool = unique("sdk-deploy-pool")
    assert api.post("/work_pools/", json={"name": pool, "type": "process"}).status_code == 201
    assert (
        main(
            [
                "deploy",
                "flows/nightly.py:nightly",
                "--name",
                "nightly",
                "--pool",
                pool,
                "--cron",
                "* * * * *",
                "--param",
                "who=cron",
                "--source-root",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"Deployment '{flow_name}/nightly'" in out
    deployment = api.get(f"/deployments/name/{flow_name}/nightly").json()
    assert deployment["entrypoint"] == "flows/nightly.py:nightly"
    assert deployment["schedules"][0]["schedule"]["cron"] == "* * * * *"

    run_scheduler(aws_endpoint_url)
    scheduled = wait_until(lambda: runs_of(api, deployment["id"]))
    assert all(r["auto_scheduled"] for r in scheduled)
    first = scheduled[0]

    log = tmp_path / "worker.log"
    with open(log, "wb") as handle:
        worker = subprocess.Popen(
            [sys.executable, "-m", "serverflow.cli", "worker", "--pool", pool, "--limit", "1"],
            env=client_env(sdk_env, tmp_path),
            cwd=REPO,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        done = wait_until(
            lambda: (
                (r := api.get(f"/flow_runs/{first['id']}").json())["state_type"] in ("COMPLETED", "FAILED", "CRASHED")
                and r
            ),
            timeout=150,
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    output = log.read_text()
    assert done["state_type"] == "COMPLETED", output[-3000:]
    assert done["parameters"] == {"who": "cron"}
    assert "mode: SQS long polling" in output, output[-3000:]
    assert "(from the API)" in output


def test_worker_says_why_it_polls_when_told_no_sqs(sdk_env: str, tmp_path: Path) -> None:
    pool = unique("sdk-nosqs-pool")
    result = subprocess.run(
        [sys.executable, "-m", "serverflow.cli", "worker", "--pool", pool, "--once", "--no-sqs"],
        env=client_env(sdk_env, tmp_path),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mode: API polling" in result.stdout and "(--no-sqs)" in result.stdout


# The schedule's anchor is 30 s ahead, so its first run is due soon after the scheduler's tick (an anchor in the
# past would put the first run an hour out); the runner's prefetch (client_env) claims it before it is due.
SERVE_SCRIPT = """
import sys
from datetime import datetime, timedelta, timezone
sys.path.insert(0, {root!r})
from flows.nightly import nightly

anchor = (datetime.now(timezone.utc) + timedelta(seconds=30)).isoformat()
nightly.serve(
    "served",
    schedules=[{{"interval": 3600, "anchor_date": anchor}}],
    parameters={{"who": "served"}},
    poll_seconds=1,
    stop_after=150,
    source_root={root!r},
)
"""


def test_serve_runs_its_scheduled_runs_and_pauses_on_exit(
    sdk_env: str, api: httpx.Client, aws_endpoint_url: str, tmp_path: Path
) -> None:
    flow_name = flow_file(tmp_path)
    script = tmp_path / "serve_it.py"
    script.write_text(textwrap.dedent(SERVE_SCRIPT.format(root=str(tmp_path))))
    log = tmp_path / "serve.log"
    with open(log, "wb") as handle:
        server = subprocess.Popen(
            [sys.executable, str(script)], env=client_env(sdk_env, tmp_path), stdout=handle, stderr=subprocess.STDOUT
        )
    try:
        deployment = wait_until(
            lambda: (r := api.get(f"/deployments/name/{flow_name}/served")).status_code == 200 and r.json(), timeout=60
        )
        assert deployment["work_pool_name"] is None
        run_scheduler(aws_endpoint_url)  # an interval schedule's first run is due now
        first = wait_until(lambda: runs_of(api, deployment["id"]))[0]
        done = wait_until(
            lambda: (
                (r := api.get(f"/flow_runs/{first['id']}").json())["state_type"] in ("COMPLETED", "FAILED", "CRASHED")
                and r
            ),
            timeout=90,
        )
        assert done["state_type"] == "COMPLETED", log.read_text()[-3000:]
        assert done["parameters"] == {"who": "served"}
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    assert api.get(f"/deployments/{deployment['id']}").json()["paused"] is True
    assert "served 1 run(s)" in log.read_text()
