"""Real prefect client: the data a user's first CLI commands list. A process pool with a deployment of a
flow that sleeps (the worker runs it, the CLI cancels it), one finished flow run with logs and an
artifact. Prints one JSON line {pool, sleeping_run_id, finished_run_id}."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.deployments import run_deployment

SLEEPER = """
import time
from prefect import flow


@flow(name="{name}")
def sleeper(seconds: float = 600) -> None:
    print("sleeper started")
    time.sleep(seconds)
"""


@flow(name="conformance-cli-hello")
def hello() -> str:
    get_run_logger().info("hello from the conformance suite")
    create_markdown_artifact("# conformance", key="conformance-cli-artifact")
    return "done"


def main() -> None:
    pool, directory, flow_name = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sleeper.py").write_text(textwrap.dedent(SLEEPER.format(name=flow_name)))
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
    flow.from_source(source=str(directory), entrypoint="sleeper.py:sleeper").deploy(name="sleeps", work_pool_name=pool)
    sleeping = run_deployment(f"{flow_name}/sleeps", timeout=0)
    finished = hello(return_state=True)
    assert finished.is_completed(), finished
    print(
        json.dumps(
            {
                "pool": pool,
                "sleeping_run_id": str(sleeping.id),
                "finished_run_id": str(finished.state_details.flow_run_id),
            }
        )
    )


if __name__ == "__main__":
    main()
