"""`serverflow worker --pool P --once` executes deployment runs end to end over the local stack."""

from __future__ import annotations

from pathlib import Path

import httpx
from serverflow.results import ResultStore

from tests.worker.support import create_deployment, create_pool, create_run, read_run, run_worker, worker_env


def test_once_worker_runs_a_deployment_run_to_completed_with_its_result(
    client: httpx.Client, api_url: str, aws_endpoint_url: str, tmp_path: Path
) -> None:
    pool = create_pool(client)["name"]
    deployment = create_deployment(client, pool, tmp_path / "project")
    run = create_run(client, deployment["id"], x=21)
    assert run["state_type"] == "SCHEDULED"

    done = run_worker(pool, worker_env(api_url, aws_endpoint_url, tmp_path), "--once")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output

    final = read_run(client, run["id"])
    assert final["state_type"] == "COMPLETED", output
    # Results are read only inside a root this process uses: declare the worker's result directory.
    result = ResultStore(tmp_path / "results").read_record(final["state"]["data"])
    assert result == {"doubled": 42, "run_id": run["id"], "cwd": str(tmp_path / "project")}
    assert final["labels"]["prefect.worker.name"].startswith("serverflow-worker-")
    assert final["labels"]["prefect.work-pool.name"] == pool
    assert final["infrastructure_pid"]
    # The terminal shows which run, which flow, and how long it took.
    assert f"({run['id']}) flow flows/work.py:work: started" in output
    assert f"({run['id']}) flow flows/work.py:work: COMPLETED after" in output
