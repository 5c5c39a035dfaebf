"""The real `prefect worker start --type process --run-once` executes a deployment that the real prefect
client created (flow.from_source(...).deploy), over HTTP polling: the run ends COMPLETED."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.e2e.prefect_env import prefect_env
from tests.worker.support import read_run, unique

SCRIPT = Path(__file__).resolve().parent / "scripts" / "prefect_deploy.py"


def test_real_prefect_worker_completes_a_prefect_deployment_run(
    client: httpx.Client, api_url: str, tmp_path: Path
) -> None:
    pool, flow_name = unique("pw-pool"), unique("pw-greet")
    env = prefect_env(api_url, str(tmp_path / "home"))
    deployed = subprocess.run(
        [sys.executable, str(SCRIPT), pool, str(tmp_path / "src"), flow_name],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    ids = json.loads([line for line in deployed.stdout.splitlines() if line.startswith("{")][-1])
    assert read_run(client, ids["run_id"])["state_type"] == "SCHEDULED"

    worker = subprocess.run(
        [
            str(Path(sys.executable).parent / "prefect"),
            "worker",
            "start",
            "--pool",
            pool,
            "--type",
            "process",
            "--run-once",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
    )
    output = worker.stdout + worker.stderr
    assert worker.returncode == 0, output[-5000:]
    run = read_run(client, ids["run_id"])
    assert run["state_type"] == "COMPLETED", output[-5000:]
    assert run["deployment_id"] == ids["deployment_id"]
    assert run["labels"]["prefect.worker.type"] == "process" and run["labels"]["prefect.work-pool.name"] == pool
    assert run["infrastructure_pid"]
    assert "hello serverflow from the prefect worker" in output
