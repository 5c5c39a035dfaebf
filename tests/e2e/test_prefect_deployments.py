"""The real prefect 3.9.1 client and CLI drive deployments on the local stack."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.e2e.prefect_env import prefect_env, run_script

POOL = f"e2e-pool-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def summary(api_url: str) -> dict:
    data, _ = run_script("deployment_client.py", api_url, POOL)
    return data


def test_apply_registers_the_deployment_in_its_pool(summary: dict) -> None:
    applied = summary["applied"]
    assert applied["id"] == summary["applied_id"]
    assert applied["work_pool_name"] == POOL and applied["work_queue_name"] == "default"
    assert applied["parameters"] == {"name": "applied"}
    assert [s["cron"] for s in applied["schedules"]] == ["0 9 * * *"]


def test_flow_deploy_works_without_an_automations_api(summary: dict) -> None:
    # The client calls DELETE /automations/owned-by/... on every deploy and tolerates a 404.
    assert summary["deploy_error"] is None and summary["deployed_id"]


def test_run_deployment_creates_a_scheduled_run(summary: dict) -> None:
    run = summary["run"]
    assert run["deployment_id"] == summary["applied_id"]
    assert run["state"] == "SCHEDULED" and run["parameters"] == {"name": "serverflow"}
    assert run["work_pool_name"] == POOL


def test_prefect_deployment_ls_lists_them(summary: dict, api_url: str) -> None:
    with tempfile.TemporaryDirectory(prefix="prefect-home-") as home:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "prefect"), "deployment", "ls"],
            env={**prefect_env(api_url, home), "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "serverflow-greet/applied" in result.stdout
    assert "serverflow-greet/deployed" in result.stdout
